import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { TASK_STATUSES } from '../../tasks/task.js';

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
  },
  (t) => [
    uniqueIndex('tasks_seq_uq').on(t.seq),
    uniqueIndex('tasks_idempotency_key_uq').on(t.tenant, t.idempotencyKey),
    index('tasks_claim_idx').on(t.tenant, t.status, t.kind, t.seq),
    index('tasks_status_seq_idx').on(t.tenant, t.status, t.seq),
    index('tasks_kind_seq_idx').on(t.tenant, t.kind, t.seq),
    index('tasks_tenant_seq_idx').on(t.tenant, t.seq),
    index('tasks_lease_idx').on(t.leaseExpiresAt).where(sql`${t.status} = 'RUNNING'`),
    index('tasks_retention_idx').on(t.completedAt).where(sql`${t.completedAt} IS NOT NULL`),
  ],
);

/** One row per tag of a task, for `tasks(tag:)`: the tenant's tasks with a tag, newest first, from one index. */
export const taskTags = sqliteTable(
  'task_tags',
  {
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    tenant: text('tenant').notNull(),
    tag: text('tag').notNull(),
    /** The task's `seq`. */
    seq: integer('seq').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.tag] }),
    index('task_tags_tenant_tag_seq_idx').on(t.tenant, t.tag, t.seq),
    // An admin's listing by tag, over every tenant.
    index('task_tags_tag_seq_idx').on(t.tag, t.seq),
  ],
);

/** A task's output, one row per chunk, `seq` 1, 2, 3 … per task; deleted with its task. */
export const taskOutput = sqliteTable(
  'task_output',
  {
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    stream: text('stream').notNull(),
    data: text('data').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.seq] })],
);

export type SqliteTaskRow = typeof tasks.$inferSelect;
