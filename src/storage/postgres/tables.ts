import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { TASK_STATUSES } from '../../tasks/task.js';

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

export type PgTaskRow = typeof tasks.$inferSelect;
