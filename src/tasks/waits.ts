import { resourceExhausted } from './errors.js';
import type { TaskEvents } from './events.js';
import type { Principal } from './principal.js';
import { isFinal, type Task } from './task.js';
import { checkTimeout } from './validate.js';

export interface AwaitOptions {
  id: string;
  /** Seconds; 0 returns at once; clamped to `awaitTimeoutMaxSeconds`. */
  timeoutSeconds: number;
  afterRevision?: number | null;
  /** Ends the wait (and frees all it holds) when the client goes away. */
  signal?: AbortSignal;
  /** Whom to count the held request against for the per-client cap, e.g. an address. */
  client?: string;
}

/** What a long-poll ended with, and what it measured. */
export interface AwaitResult {
  /** The latest state; null for an unknown id. */
  task: Task | null;
  /** `performance.now()` when the commit that ended the wait was published; null when no commit did. */
  wokenAt: number | null;
}

export interface WaitLimits {
  awaitTimeoutMaxSeconds: number;
  /** Held long-polls over all clients. */
  maxWaiters: number;
  /** Held long-polls per client (its address). */
  maxWaitersPerClient: number;
}

/**
 * Long-polls: each held on the task's events (no polling of the store), admitted under a
 * server-wide and a per-client cap, released whichever way it ends.
 */
export function createWaits({
  events,
  limits,
  visible,
  isClosed,
}: {
  events: TaskEvents;
  limits: WaitLimits;
  visible: (principal: Principal, id: string) => Promise<Task | null>;
  isClosed: () => boolean;
}) {
  const waiters = new Set<() => void>();
  const waitersByClient = new Map<string, number>();

  function admit(client: string): () => void {
    if (waiters.size >= limits.maxWaiters) throw resourceExhausted('Too many held long-polls on this server; retry later.');
    const held = waitersByClient.get(client) ?? 0;
    if (held >= limits.maxWaitersPerClient) throw resourceExhausted('Too many held long-polls from this client; retry later.');
    waitersByClient.set(client, held + 1);
    return () => {
      const left = (waitersByClient.get(client) ?? 1) - 1;
      if (left === 0) waitersByClient.delete(client);
      else waitersByClient.set(client, left);
    };
  }

  /**
   * Holds until the task is final, or (with `afterRevision`) has a newer revision, or the
   * timeout passes, or the client leaves; returns the latest state. Listens before it reads,
   * so a change committed in between still ends the wait.
   */
  async function awaitTask(principal: Principal, { id, timeoutSeconds, afterRevision, signal, client = '' }: AwaitOptions): Promise<AwaitResult> {
    const timeoutMs = checkTimeout(timeoutSeconds, limits.awaitTimeoutMaxSeconds);
    let latest = null as Task | null;
    let wake: ((publishedAt: number) => void) | null = null;
    const unsubscribe = events.subscribe(id, (task) => {
      if (latest && task.revision <= latest.revision) return;
      latest = task;
      if (isAnswer(task, afterRevision)) wake?.(performance.now());
    });
    try {
      const current = await visible(principal, id);
      if (!current) return { task: null, wokenAt: null };
      if (!latest || current.revision > latest.revision) latest = current;
      if (isAnswer(latest, afterRevision) || timeoutMs === 0 || signal?.aborted || isClosed()) return { task: latest, wokenAt: null };
      const release = admit(client);
      let timer: NodeJS.Timeout | undefined;
      let end: (() => void) | undefined;
      try {
        // Resolves with when a commit woke it; with nothing (or the abort event) for a timeout,
        // a leaving client or shutdown. The promise's own resolve is what is registered, not a
        // closure around it: whatever is registered is held for the whole wait.
        const publishedAt = await new Promise<unknown>((resolve) => {
          end = resolve as () => void;
          wake = resolve;
          waiters.add(end);
          timer = setTimeout(end, timeoutMs);
          signal?.addEventListener('abort', end, { once: true });
        });
        return { task: latest, wokenAt: typeof publishedAt === 'number' ? publishedAt : null };
      } finally {
        clearTimeout(timer);
        if (end) {
          signal?.removeEventListener('abort', end);
          waiters.delete(end);
        }
        release();
      }
    } finally {
      unsubscribe();
    }
  }

  return {
    awaitTask,
    count: () => waiters.size,
    /** Answers every held long-poll with the state it has (at shutdown). */
    endAll(): void {
      for (const end of [...waiters]) end();
    },
  };
}

/** Whether `task` ends an `awaitTask`: final, or (with `afterRevision`) newer than it. */
function isAnswer(task: Task, afterRevision: number | null | undefined): boolean {
  return isFinal(task.status) || (afterRevision != null && task.revision > afterRevision);
}
