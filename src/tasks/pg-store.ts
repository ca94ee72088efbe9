import { and, asc, desc, eq, inArray, isNotNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { PgDb } from '../db/pg-client.js';
import { tasks } from '../db/pg-tables.js';
import { fromRow, toChanges, toRow, toTask } from './rows.js';
import type { TaskStore } from './store.js';
import type { Task } from './task.js';

/** The channel on which every committed change is announced to all instances. */
export const TASK_EVENTS_CHANNEL = 'task_events';

/** What a change notification carries: enough to know whether to re-read the row. */
export interface TaskNotice {
  /** The instance that wrote it. */
  origin: string;
  id: string;
  revision: number;
  /** When the task's lease ends (epoch ms), if it is running. */
  leaseExpiresAt: number | null;
}

export interface PgTaskStore extends TaskStore {
  /** The current revision of each of those ids that exists. */
  revisionsOf(ids: readonly string[]): Promise<Map<string, number>>;
}

type Tx = Parameters<Parameters<PgDb['transaction']>[0]>[0];

/**
 * The task store on PostgreSQL. Each write is a transaction that locks its row
 * (`FOR UPDATE`; claims and expiries `SKIP LOCKED` what another instance holds) and, in
 * the same transaction, NOTIFYs `task_events`: PostgreSQL delivers the notice to every
 * listening instance if and only if the write commits, in commit order.
 */
export function createPgTaskStore(db: PgDb, { origin }: { origin: string }): PgTaskStore {
  const byId = db.select().from(tasks).where(eq(tasks.id, sql.placeholder('id'))).prepare('task_by_id');

  /** Writes the task's changes and queues its notice, in one round trip. */
  async function save(tx: Tx, task: Task): Promise<void> {
    const notice: TaskNotice = { origin, id: task.id, revision: task.revision, leaseExpiresAt: task.leaseExpiresAt?.getTime() ?? null };
    await tx
      .update(tasks)
      .set(toChanges(task))
      .where(eq(tasks.id, task.id))
      .returning({ notified: sql`pg_notify(${TASK_EVENTS_CHANNEL}, ${JSON.stringify(notice)})` });
  }

  return {
    get: async (id) => toTask((await byId.execute({ id }))[0]),

    async getMany(ids) {
      if (ids.length === 0) return [];
      return (await db.select().from(tasks).where(inArray(tasks.id, [...ids]))).map(fromRow);
    },

    async revisionsOf(ids) {
      if (ids.length === 0) return new Map();
      const rows = await db.select({ id: tasks.id, revision: tasks.revision }).from(tasks).where(inArray(tasks.id, [...ids]));
      return new Map(rows.map((row) => [row.id, row.revision]));
    },

    async list({ tenant, status, kind, after, limit }) {
      const conditions: (SQL | undefined)[] = [
        eq(tasks.tenant, tenant),
        status ? eq(tasks.status, status) : undefined,
        kind ? eq(tasks.kind, kind) : undefined,
        after ? lt(tasks.seq, after.seq) : undefined,
      ];
      const rows = await db
        .select()
        .from(tasks)
        .where(and(...conditions))
        .orderBy(desc(tasks.seq))
        .limit(limit);
      return rows.map(fromRow);
    },

    async create(task) {
      const { seq: _assigned, ...row } = toRow(task);
      const [inserted] = await db
        .insert(tasks)
        .values(row)
        .onConflictDoNothing({ target: [tasks.tenant, tasks.idempotencyKey] })
        .returning();
      if (inserted) return fromRow(inserted);
      // Another task holds the idempotency key (committed: the insert waited for it).
      const [existing] = await db
        .select()
        .from(tasks)
        .where(and(eq(tasks.tenant, task.tenant), eq(tasks.idempotencyKey, task.idempotencyKey!)));
      if (!existing) throw new Error(`task insert conflicted, but no task holds idempotency key ${task.idempotencyKey}`);
      return fromRow(existing);
    },

    update: (id, change) =>
      db.transaction(async (tx) => {
        const [row] = await tx.select().from(tasks).where(eq(tasks.id, id)).for('update');
        const before = toTask(row);
        const after = change(before);
        if (after !== before) await save(tx, after);
        return { before, after };
      }),

    claim: (tenant, kinds, change) =>
      db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(tasks)
          .where(
            and(
              eq(tasks.tenant, tenant),
              eq(tasks.status, 'QUEUED'),
              kinds && kinds.length > 0 ? inArray(tasks.kind, [...kinds]) : undefined,
            ),
          )
          .orderBy(asc(tasks.seq))
          .limit(1)
          .for('update', { skipLocked: true });
        if (!row) return null;
        const next = change(fromRow(row));
        await save(tx, next);
        return next;
      }),

    expireLeases: (now, limit, change) =>
      db.transaction(async (tx) => {
        const rows = await tx
          .select()
          .from(tasks)
          .where(and(eq(tasks.status, 'RUNNING'), lte(tasks.leaseExpiresAt, now)))
          .orderBy(asc(tasks.leaseExpiresAt))
          .limit(limit)
          .for('update', { skipLocked: true });
        const expired = rows.map((row) => change(fromRow(row)));
        for (const task of expired) await save(tx, task);
        return expired;
      }),

    async nextLeaseExpiry() {
      const [row] = await db
        .select({ at: sql<number | null>`min(${tasks.leaseExpiresAt})`.mapWith(Number) })
        .from(tasks)
        .where(eq(tasks.status, 'RUNNING'));
      return row?.at ?? null;
    },

    async deleteFinishedBefore(before, limit) {
      const doomed = db
        .select({ id: tasks.id })
        .from(tasks)
        .where(and(isNotNull(tasks.completedAt), lt(tasks.completedAt, before)))
        .limit(limit)
        .for('update', { skipLocked: true });
      const deleted = await db.delete(tasks).where(inArray(tasks.id, doomed)).returning({ id: tasks.id });
      return deleted.length;
    },
  };
}
