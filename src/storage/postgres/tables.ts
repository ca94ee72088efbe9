import { bigint, bigserial, index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { TASK_STATUSES } from '../../tasks/task.js';
import { indexesOn, TAG_INDEXES, TASK_INDEXES } from '../indexes.js';

/**
 * The PostgreSQL twin of sqlite/tables.ts: the same columns, types and indexes, so one row
 * mapping serves both engines (test/storage/tables.test.ts fails when they differ). Times are epoch milliseconds (bigint read as number);
 * JSON columns hold serialized JSON text, stored exactly as written.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    /** Creation order from a sequence: increasing in the order inserts began. */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    tenant: text('tenant').notNull(),
    kind: text('kind').notNull(),
    /** JSON array of strings, as given at creation; `task_tags` indexes them. */
    tags: text('tags').notNull().default('[]'),
    status: text('status', { enum: TASK_STATUSES }).notNull(),
    progress: integer('progress').notNull(),
    message: text('message'),
    input: text('input'),
    result: text('result'),
    error: text('error'),
    attempts: integer('attempts').notNull(),
    maxAttempts: integer('max_attempts').notNull(),
    revision: integer('revision').notNull(),
    idempotencyKey: text('idempotency_key'),
    workerId: text('worker_id'),
    leaseSeconds: integer('lease_seconds'),
    leaseExpiresAt: bigint('lease_expires_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    startedAt: bigint('started_at', { mode: 'number' }),
    completedAt: bigint('completed_at', { mode: 'number' }),
    /** The seq of the task's last output chunk; 0 when none. */
    outputSeq: integer('output_seq').notNull().default(0),
    /** UTF-8 bytes of all the task's output chunks, checked against MAX_OUTPUT_BYTES_PER_TASK without reading them. */
    outputBytes: bigint('output_bytes', { mode: 'number' }).notNull().default(0),
    /** The task's place in its tenant's change feed: taken from `task_feeds` by every change (0 before the first). */
    feedPos: bigint('feed_pos', { mode: 'number' }).notNull().default(0),
  },
  (t) => indexesOn(t, TASK_INDEXES, { index, uniqueIndex }),
);

/**
 * Each tenant's change feed: the last position taken. Every change of one of its tasks takes
 * the next one, last in its transaction: the row lock it takes is held until commit, so a
 * tenant's positions commit in order (see the README, "Change feeds on PostgreSQL").
 */
export const taskFeeds = pgTable('task_feeds', {
  tenant: text('tenant').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
});

/** A row's task, deleted with it. */
const taskIdColumn = () =>
  text('task_id')
    .notNull()
    .references(() => tasks.id, { onDelete: 'cascade' });

/** One row per tag of a task, for `tasks(tag:)`: the tenant's tasks with a tag, newest first, from one index. */
export const taskTags = pgTable(
  'task_tags',
  {
    taskId: taskIdColumn(),
    tenant: text('tenant').notNull(),
    tag: text('tag').notNull(),
    /** The task's `seq`. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.tag] }), ...indexesOn(t, TAG_INDEXES, { index, uniqueIndex })],
);

/** A task's output, one row per chunk, `seq` 1, 2, 3 … per task; deleted with its task. */
export const taskOutput = pgTable(
  'task_output',
  {
    taskId: taskIdColumn(),
    seq: integer('seq').notNull(),
    stream: text('stream').notNull(),
    data: text('data').notNull(),
    at: bigint('at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] })],
);

export type PgTaskRow = typeof tasks.$inferSelect;
