import { createCommands, type CommandLimits, type TaskServiceObserver } from './commands.js';
import { randomBytes } from 'node:crypto';
import { createCursors } from './cursors.js';
import { resourceExhausted } from './errors.js';
import type { TaskEvents } from './events.js';
import { createFollows, type FollowLimits } from './follow.js';
import { createLeases } from './leases.js';
import { checkOutputRange, OUTPUT_READ_BUDGET_BYTES, type OutputChunk } from './output.js';
import { canSee, type Principal } from './principal.js';
import { createRetention } from './retention.js';
import type { TaskStore } from './store.js';
import type { Task, TaskStatus } from './task.js';
import { checkName, checkPageSize, checkTag, isValidId } from './validate.js';
import { createWaits, type WaitLimits } from './waits.js';

export type { TaskServiceObserver, WriteOperation } from './commands.js';
export type { StreamSlot } from './follow.js';
export type { AwaitOptions, AwaitOutputOptions, AwaitOutputResult, AwaitResult } from './waits.js';
export type { OutputChunk } from './output.js';

export interface TaskServiceLimits extends CommandLimits, WaitLimits, FollowLimits {
  /** How long finished tasks are kept before they are deleted, in hours. */
  retentionHours: number;
}

export interface TaskServiceDeps {
  store: TaskStore;
  events: TaskEvents;
  limits: TaskServiceLimits;
  /** @default () => new Date() */
  clock?: () => Date;
  onError?: (error: unknown, context: string) => void;
  /** Told how long each write took and how it ended (for `/metrics`). */
  observer?: TaskServiceObserver;
  /** Seals the `tasks` cursors (32 bytes); instances that share it accept each other's. @default random, this service's own */
  cursorKey?: Uint8Array;
}

export interface TaskPage {
  tasks: Task[];
  hasNextPage: boolean;
  cursorOf(task: Task): string;
}

const HOUSEKEEPING_INTERVAL_MS = 60_000;

/**
 * The task service, for every transport: reads here, writes in commands.ts, long-polls in
 * waits.ts, subscription streams in follow.ts, lease expiry in leases.ts, retention in
 * retention.ts, input checks in validate.ts. Nothing runs until `start()`; `close()` stops all.
 */
export function createTaskService({
  store,
  events,
  limits,
  clock = () => new Date(),
  onError = () => {},
  observer = { wrote: () => {} },
  cursorKey = randomBytes(32),
}: TaskServiceDeps) {
  const cursors = createCursors(cursorKey);
  let closed = false;
  let housekeeping: NodeJS.Timeout | undefined;
  const isClosed = () => closed;
  const assertOpen = () => {
    if (closed) throw resourceExhausted('The server is shutting down.');
  };

  async function visible(principal: Principal, id: string): Promise<Task | null> {
    if (!isValidId(id)) return null;
    const task = await store.get(id);
    return task && canSee(principal, task) ? task : null;
  }

  async function guard(work: () => Promise<unknown>, context: string): Promise<void> {
    try {
      await work();
    } catch (error) {
      onError(error, context);
    }
  }

  const leases = createLeases({ store, events, clock, onError });
  const retention = createRetention({ store, clock, retentionHours: limits.retentionHours });
  const commands = createCommands({ store, events, limits, clock, observer, leaseEndsAt: leases.endsAt, assertOpen });
  const waits = createWaits({ store, events, limits, visible, isClosed });
  const follows = createFollows({
    store,
    events,
    limits,
    visible,
    assertOpen,
    onRefused: (reason) => observer.refused?.(reason),
    onOutputPage: () => observer.outputPageRead?.(),
  });

  return {
    ...commands,

    get: visible,

    /** The caller's tenant's tasks (every tenant's for an admin), newest first; `after` is a cursor from an earlier page. */
    async list(
      principal: Principal,
      { status, kind, tag, first, after }: { status?: TaskStatus | null; kind?: string | null; tag?: string | null; first: number; after?: string | null },
    ): Promise<TaskPage> {
      checkPageSize(first);
      if (kind != null) checkName('kind', kind);
      if (tag != null) checkTag(tag);
      const tenant = principal.role === 'admin' ? null : principal.tenant;
      const rows = await store.list({ tenant, status, kind, tag, after: after ? cursors.decode(principal, after) : null, limit: first + 1 });
      return { tasks: rows.slice(0, first), hasNextPage: rows.length > first, cursorOf: (task) => cursors.encode(principal, task) };
    },

    /**
     * Output chunks of `task` (one the caller could read) with seq > `after`, in order, at most
     * `first` (clamped to 1..1000) and about a MiB (OUTPUT_READ_BUDGET_BYTES); BAD_USER_INPUT
     * for a negative `after`.
     */
    async output(task: Task, { after, first }: { after: number; first: number }): Promise<OutputChunk[]> {
      return store.readOutput(task.id, after, checkOutputRange(after, first), OUTPUT_READ_BUDGET_BYTES);
    },

    awaitTask: waits.awaitTask,
    awaitOutput: waits.awaitOutput,
    follow: follows.follow,
    followOutput: follows.followOutput,
    reserveStream: follows.reserveStream,

    /** Sends expired leases back to the queue (or to FAILED); runs on its own timer too. */
    expireLeases: leases.expire,

    /** A lease granted elsewhere (another instance) ends at `time` (epoch ms): expire it then if it is still held. */
    noteLeaseExpiry: leases.endsAt,

    /** Deletes finished tasks past the retention period; runs on its own timer too. */
    purgeExpired: retention.purge,

    stats: () => ({ waiters: waits.count(), subscriptions: follows.count() }),

    /**
     * Starts the background work: the lease timer, set for the earliest lease stored, and every
     * minute retention and a fresh look at the earliest lease (another instance may have granted it).
     */
    start(): void {
      if (closed || housekeeping) return;
      leases.start();
      void guard(leases.rearm, 'lease expiry');
      housekeeping = setInterval(() => {
        void guard(retention.purge, 'retention');
        void guard(leases.rearm, 'lease expiry');
      }, HOUSEKEEPING_INTERVAL_MS).unref();
    },

    /** Answers every held long-poll with its latest state, ends every stream, stops timers. */
    close(): void {
      closed = true;
      leases.stop();
      clearInterval(housekeeping);
      waits.endAll();
      follows.endAll();
    },
  };
}

export type TaskService = ReturnType<typeof createTaskService>;
