import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { TASK_STATUSES } from '../../tasks/task.js';
import { indexesOn, TAG_INDEXES, TASK_INDEXES } from '../indexes.js';

/**
 * Times are epoch milliseconds; JSON columns hold serialized JSON text. PostgreSQL's twin is
 * postgres/tables.ts; test/storage/tables.test.ts fails when the two differ.
 */
export const tasks = sqliteTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    /** Creation order, strictly increasing (timestamps tie within a millisecond). */
    seq: integer('seq').notNull(),
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
    leaseExpiresAt: integer('lease_expires_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    startedAt: integer('started_at'),
    completedAt: integer('completed_at'),
    /** The seq of the task's last output chunk; 0 when none. */
    outputSeq: integer('output_seq').notNull().default(0),
    /** UTF-8 bytes of all the task's output chunks, checked against MAX_OUTPUT_BYTES_PER_TASK without reading them. */
    outputBytes: integer('output_bytes').notNull().default(0),
    /** The task's place in its tenant's change feed: taken from `task_feeds` by every change (0 before the first). */
    feedPos: integer('feed_pos').notNull().default(0),
  },
  (t) => indexesOn(t, TASK_INDEXES, { index, uniqueIndex }),
);

/** Each tenant's change feed: the last position taken. Every change of one of its tasks takes the next one, in its transaction. */
export const taskFeeds = sqliteTable('task_feeds', {
  tenant: text('tenant').primaryKey(),
  position: integer('position').notNull(),
});

/** A row's task, deleted with it. */
const taskIdColumn = () =>
  text('task_id')
    .notNull()
    .references(() => tasks.id, { onDelete: 'cascade' });

/** One row per tag of a task, for `tasks(tag:)`: the tenant's tasks with a tag, newest first, from one index. */
export const taskTags = sqliteTable(
  'task_tags',
  {
    taskId: taskIdColumn(),
    tenant: text('tenant').notNull(),
    tag: text('tag').notNull(),
    /** The task's `seq`. */
    seq: integer('seq').notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.tag] }), ...indexesOn(t, TAG_INDEXES, { index, uniqueIndex })],
);

/** A task's output, one row per chunk, `seq` 1, 2, 3 … per task; deleted with its task. */
export const taskOutput = sqliteTable(
  'task_output',
  {
    taskId: taskIdColumn(),
    seq: integer('seq').notNull(),
    stream: text('stream').notNull(),
    data: text('data').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] })],
);

export type SqliteTaskRow = typeof tasks.$inferSelect;
