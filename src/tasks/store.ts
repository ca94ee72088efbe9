import type { NewOutputChunk, OutputChunk, OutputTarget } from './output.js';
import type { Task, TaskStatus } from './task.js';

/** Where a page of a newest-first listing starts: strictly after this task. */
export interface ListPosition {
  seq: number;
}

export interface ListFilter {
  /** Null: every tenant's tasks (an admin's listing). */
  tenant: string | null;
  status?: TaskStatus | null;
  kind?: string | null;
  /** Only tasks that carry this tag. */
  tag?: string | null;
  after?: ListPosition | null;
  limit: number;
}

/** A state change decided inside a transaction: return the task unchanged to write nothing, throw to refuse. */
export type TaskChange = (task: Task) => Task;

/**
 * Where tasks live, whatever the engine (SQLite or PostgreSQL). Every write reads the row,
 * lets the caller's pure `change` decide the next state, and writes it as one atomic step;
 * each promise resolves only once its transaction is committed (and durable, as the engine
 * is configured), so a caller publishes only committed rows.
 */
/** What `changesOfKinds` looked at in a feed, and what it found. */
export interface FeedWindow {
  tasks: Task[];
  /** Positions looked at. */
  scanned: number;
  /** The last position looked at. */
  scannedTo: number;
}

export interface TaskStore {
  get(id: string): Promise<Task | null>;
  /** The rows of those ids that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<Task[]>;
  list(filter: ListFilter): Promise<Task[]>;
  /**
   * The tenant's change feed: of the next `limit` positions taken after `after`, the tasks of
   * `kinds` (of any kind when null), in position order, each at its latest state; with how many
   * positions were looked at and the last of them (`after` when none). Tasks of other kinds
   * are passed over in the database, not read. On PostgreSQL a tenant's positions commit in
   * order, so a read that looked at position P has every change before it.
   */
  changesOfKinds(tenant: string, after: number, limit: number, kinds: readonly string[] | null): Promise<FeedWindow>;
  /** The last position taken in the tenant's feed, committed (0 before any change). */
  feedPosition(tenant: string): Promise<number>;
  /**
   * Inserts the task, assigning its `seq` and its feed position; when its tenant already has a task with its
   * idempotency key, inserts nothing and returns that task. With `maxQueued`, when the tenant
   * already has that many QUEUED tasks, inserts nothing and throws `queueFull(maxQueued)`
   * (a task that its idempotency key names is still returned).
   */
  create(task: Task, options?: CreateOptions): Promise<Task>;
  /**
   * Reads task `id` and saves what `change` returns (it gets null for an unknown id, and must
   * throw then), with no other write landing in between: SQLite holds the write lock,
   * PostgreSQL saves only if the row is still as read and otherwise runs `change` again on a
   * fresh read. A change that bumps the revision takes the next position of the tenant's feed
   * (`feedPos`) in the same transaction. Resolves with both states (`after` as stored) after the commit.
   */
  update(id: string, change: (task: Task | null) => Task): Promise<{ before: Task | null; after: Task }>;
  /**
   * Claims the oldest QUEUED task of the tenant, of one of `kinds` (any kind when null or
   * empty), skipping tasks that another transaction holds; null when none is free.
   */
  claim(tenant: string, kinds: readonly string[] | null, change: TaskChange): Promise<Task | null>;
  /**
   * Applies `change` to up to `limit` RUNNING tasks whose lease ended at or before `now`
   * (epoch ms) and returns the new rows. Safe while other instances do the same.
   */
  expireLeases(now: number, limit: number, change: TaskChange): Promise<Task[]>;
  /**
   * Appends one chunk to task `id`'s output in one transaction: reads the row, lets `check`
   * refuse (it gets null for an unknown id, and must throw then), gives the chunk the task's
   * next seq (gap-free per task) and adds its bytes to the task's totals. The task's revision
   * and lease stay as they are. Resolves with the chunk's seq once committed.
   */
  appendOutput(id: string, chunk: NewOutputChunk, check: (task: OutputTarget | null) => void): Promise<number>;
  /**
   * Task `id`'s chunks with seq > `after`, in seq order: at most `limit`, and none after the one
   * that brings their UTF-8 bytes to `budget` or more (the first always comes, however large).
   */
  readOutput(id: string, after: number, limit: number, budget: number): Promise<OutputChunk[]>;
  /** The earliest lease end among running tasks, in epoch ms. */
  nextLeaseExpiry(): Promise<number | null>;
  /** Deletes up to `limit` tasks that reached a final state before `before`, with their output; returns how many. */
  deleteFinishedBefore(before: number, limit: number): Promise<number>;
  /** How many tasks there are in each status, over all tenants (for `/metrics`). */
  countByStatus(): Promise<StatusCounts>;
}

export type StatusCounts = Record<TaskStatus, number>;

export interface CreateOptions {
  /** Most QUEUED tasks the task's tenant may have before this one; unset: no cap. */
  maxQueued?: number;
}
