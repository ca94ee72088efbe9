import { resourceExhausted } from './errors.js';
import type { TaskEvents } from './events.js';
import { checkOutputRange, OUTPUT_READ_BUDGET_BYTES, type OutputChunk } from './output.js';
import type { Principal } from './principal.js';
import type { TaskStore } from './store.js';
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

export interface AwaitOutputOptions {
  id: string;
  /** Chunks with seq > after. @default 0 */
  after: number;
  /** Most chunks returned, clamped to 1..1000. */
  first: number;
  /** Seconds; 0 returns at once; clamped to `awaitTimeoutMaxSeconds`. */
  timeoutSeconds: number;
  signal?: AbortSignal;
  client?: string;
}

/** What an output long-poll ended with. */
export interface AwaitOutputResult {
  /** The latest state known (its `outputSeq` may trail `chunks`); null for an unknown id. */
  task: Task | null;
  /** The chunks after `after`, in order: [] on a timeout or when the task became final with none. */
  chunks: OutputChunk[];
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
  store,
  events,
  limits,
  visible,
  isClosed,
}: {
  store: Pick<TaskStore, 'readOutput'>;
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
      const wokenAt = await hold(client, timeoutMs, signal, (resolve) => (wake = resolve));
      return { task: latest, wokenAt };
    } finally {
      unsubscribe();
    }
  }

  /**
   * Holds a long-poll admitted with `admit` for up to `timeoutMs`: resolves with when a commit
   * woke it (`publishedAt`, from the function handed to `armed`), or with null for the timeout, a
   * leaving client or shutdown. Counted among the held long-polls while it waits; `armed(null)`
   * once it no longer does.
   */
  async function park(timeoutMs: number, signal: AbortSignal | undefined, armed: (wake: ((publishedAt: number) => void) | null) => void): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    let end: (() => void) | undefined;
    try {
      // The promise's own resolve is what is registered, not a closure around it: whatever is
      // registered is held for the whole wait.
      const publishedAt = await new Promise<unknown>((resolve) => {
        end = resolve as () => void;
        armed(resolve);
        waiters.add(end);
        timer = setTimeout(end, timeoutMs);
        signal?.addEventListener('abort', end, { once: true });
      });
      return typeof publishedAt === 'number' ? publishedAt : null;
    } finally {
      clearTimeout(timer);
      armed(null);
      if (end) {
        signal?.removeEventListener('abort', end);
        waiters.delete(end);
      }
    }
  }

  /** Admits one long-poll of `client` and parks it (see `park`); releases its place however it ends. */
  async function hold(client: string, timeoutMs: number, signal: AbortSignal | undefined, armed: (wake: ((publishedAt: number) => void) | null) => void): Promise<number | null> {
    const release = admit(client);
    try {
      return await park(timeoutMs, signal, armed);
    } finally {
      release();
    }
  }

  /**
   * The task's output chunks after `after`, at once when there are any; else holds until the
   * first new chunk (handed over by the append, no read), the task becoming final (then []),
   * the timeout ([]) or the client leaving. Listens before it reads, as `awaitTask` does.
   */
  async function awaitOutput(principal: Principal, { id, after, first, timeoutSeconds, signal, client = '' }: AwaitOutputOptions): Promise<AwaitOutputResult> {
    const limit = checkOutputRange(after, first);
    const timeoutMs = checkTimeout(timeoutSeconds, limits.awaitTimeoutMaxSeconds);
    let latest = null as Task | null;
    let fresh: OutputChunk | null = null;
    let known = after;
    let wake: ((publishedAt: number) => void) | null = null;
    const unsubscribeTask = events.subscribe(id, (task) => {
      if (latest && task.revision <= latest.revision) return;
      latest = task;
      if (isFinal(task.status)) wake?.(performance.now());
    });
    const unsubscribeOutput = events.subscribeOutput(id, (seq, chunk) => {
      if (seq <= known) return;
      if (known === after && chunk?.seq === after + 1) fresh = chunk;
      known = seq;
      wake?.(performance.now());
    });
    try {
      const current = await visible(principal, id);
      if (!current) return { task: null, chunks: [], wokenAt: null };
      if (!latest || current.revision > latest.revision) latest = current;
      known = Math.max(known, current.outputSeq);
      if (known > after) return { task: latest, chunks: await store.readOutput(id, after, limit, OUTPUT_READ_BUDGET_BYTES), wokenAt: null };
      if (isFinal(latest.status) || timeoutMs === 0 || signal?.aborted || isClosed()) return { task: latest, chunks: [], wokenAt: null };
      const wokenAt = await hold(client, timeoutMs, signal, (resolve) => (wake = resolve));
      // A chunk appended after the task became final cannot be: the final state comes after its last chunk.
      if (known === after) return { task: latest, chunks: [], wokenAt };
      const chunks = fresh && known === after + 1 ? [fresh] : await store.readOutput(id, after, limit, OUTPUT_READ_BUDGET_BYTES);
      return { task: latest, chunks, wokenAt };
    } finally {
      unsubscribeOutput();
      unsubscribeTask();
    }
  }

  return {
    awaitTask,
    awaitOutput,
    /** Takes a place for one held long-poll of `client` under the caps (RESOURCE_EXHAUSTED when full); returns its release. */
    admit,
    park,
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
