import { and, asc, desc, eq, gt, inArray, isNotNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { PgDb } from './connection.js';
import { noticeOf, outputNoticeOf, TASK_EVENTS_CHANNEL } from './notices.js';
import { taskOutput, taskTags, tasks } from './tables.js';
import { queueFull } from '../../tasks/quotas.js';
import { countsOf, fromRow, MUTABLE_COLUMNS, toChanges, toRow, toTask } from '../rows.js';
import type { TaskStore } from '../../tasks/store.js';
import type { Task } from '../../tasks/task.js';

export interface PgTaskStore extends TaskStore {
  /** The current revision of each of those ids that exists. */
  revisionsOf(ids: readonly string[]): Promise<Map<string, number>>;
}

type Tx = Parameters<Parameters<PgDb['transaction']>[0]>[0];

/** Conflicting writes to one task, one after another, before an update gives up. */
const MAX_UPDATE_ATTEMPTS = 50;

/**
 * The task store on PostgreSQL. Every write NOTIFYs `task_events` in its own transaction:
 * PostgreSQL delivers the notice to every listening instance if and only if the write
 * commits, in commit order.
 *
 * An update is optimistic, two round trips and no explicit transaction: read the row, let
 * the state machine decide, then one `UPDATE … WHERE revision and lease are still what was
 * read … RETURNING pg_notify(…)`; when another write got there first it matches no row, and
 * the update starts over from a fresh read. (The revision changes with every change but a
 * heartbeat, which changes the lease.) Claims and lease expiry lock rows in a transaction
 * instead, `FOR UPDATE SKIP LOCKED`, so instances never wait for each other's candidates.
 */
export function createPgTaskStore(db: PgDb, { origin }: { origin: string }): PgTaskStore {
  const byId = db.select().from(tasks).where(eq(tasks.id, sql.placeholder('id'))).prepare('task_by_id');
  // Prepared once: building a statement with Drizzle costs more CPU than PostgreSQL spends running it.
  const saveIfUnchanged = db
    .update(tasks)
    .set(Object.fromEntries(MUTABLE_COLUMNS.map((column) => [column, sql`${sql.placeholder(column)}`])))
    .where(
      and(
        eq(tasks.id, sql.placeholder('id')),
        eq(tasks.revision, sql.placeholder('readRevision')),
        sql`${tasks.leaseExpiresAt} IS NOT DISTINCT FROM ${sql.placeholder('readLease')}::bigint`,
      ),
    )
    .returning({ notified: sql`pg_notify(${TASK_EVENTS_CHANNEL}, ${sql.placeholder('notice')})`, outputSeq: tasks.outputSeq, outputBytes: tasks.outputBytes })
    .prepare('task_save_if_unchanged');
  // The first `limit` chunks after `after`, cut after the one that reaches `budget` bytes: a read
  // holds a bounded amount of output, whatever the chunks' sizes (the first always comes).
  const outputAfter = (id: string, after: number, limit: number, budget: number) =>
    db.execute<{ seq: number; stream: string; data: string; at: string | number }>(sql`
      SELECT seq, stream, data, at FROM (
        SELECT seq, stream, data, at, bytes, sum(bytes) OVER (ORDER BY seq) AS upto FROM (
          SELECT seq, stream, data, at, octet_length(data) AS bytes FROM ${taskOutput}
          WHERE task_id = ${id} AND seq > ${after} ORDER BY seq LIMIT ${limit}
        ) page
      ) counted WHERE upto - bytes < ${budget} ORDER BY seq`);

  // How many QUEUED tasks a tenant has, counted up to `cap` along the (tenant, status, seq) index:
  // what a create checks against MAX_QUEUED_PER_TENANT costs at most `cap` index entries.
  const queuedUpTo = db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(
      db
        .select({ one: sql`1` })
        .from(tasks)
        .where(and(eq(tasks.tenant, sql.placeholder('tenant')), eq(tasks.status, 'QUEUED')))
        .limit(sql.placeholder('cap'))
        .as('queued'),
    )
    .prepare('tasks_queued_up_to');

  const byIdempotencyKey = async (tenant: string, key: string): Promise<Task | null> => {
    const [row] = await db
      .select()
      .from(tasks)
      .where(and(eq(tasks.tenant, tenant), eq(tasks.idempotencyKey, key)));
    return row ? fromRow(row) : null;
  };

  /** Writes the task's changes and queues its notice (inside a transaction that holds the row). */
  async function save(tx: Tx, task: Task): Promise<void> {
    await tx
      .update(tasks)
      .set(toChanges(task))
      .where(eq(tasks.id, task.id))
      .returning({ notified: sql`pg_notify(${TASK_EVENTS_CHANNEL}, ${noticeOf(origin, task)})` });
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

    async list({ tenant, status, kind, tag, after, limit }) {
      const conditions: (SQL | undefined)[] = [
        status ? eq(tasks.status, status) : undefined,
        kind ? eq(tasks.kind, kind) : undefined,
      ];
      if (tag) {
        // From the tag's index: the tenant's tasks with that tag, newest first.
        const rows = await db
          .select({ task: tasks })
          .from(taskTags)
          .innerJoin(tasks, eq(tasks.id, taskTags.taskId))
          .where(and(tenant !== null ? eq(taskTags.tenant, tenant) : undefined, eq(taskTags.tag, tag), after ? lt(taskTags.seq, after.seq) : undefined, ...conditions))
          .orderBy(desc(taskTags.seq))
          .limit(limit);
        return rows.map(({ task }) => fromRow(task));
      }
      const rows = await db
        .select()
        .from(tasks)
        .where(and(tenant !== null ? eq(tasks.tenant, tenant) : undefined, after ? lt(tasks.seq, after.seq) : undefined, ...conditions))
        .orderBy(desc(tasks.seq))
        .limit(limit);
      return rows.map(fromRow);
    },

    /**
     * With `maxQueued`, the tenant's queued tasks are counted before the insert, not in one
     * transaction with it: creates that run at the same time may pass the cap together, by as
     * many as run at once (a lock per tenant would make every create wait for the others).
     */
    async create(task, { maxQueued } = {}) {
      if (maxQueued !== undefined) {
        const [{ n } = { n: 0 }] = await queuedUpTo.execute({ tenant: task.tenant, cap: maxQueued });
        if (n >= maxQueued) {
          const existing = task.idempotencyKey ? await byIdempotencyKey(task.tenant, task.idempotencyKey) : null;
          if (existing) return existing;
          throw queueFull(maxQueued);
        }
      }
      const { seq: _assigned, ...row } = toRow(task);
      const insert = async (tx: Tx | PgDb) => {
        const [inserted] = await tx
          .insert(tasks)
          .values(row)
          .onConflictDoNothing({ target: [tasks.tenant, tasks.idempotencyKey] })
          .returning();
        if (inserted && task.tags.length > 0) {
          await tx.insert(taskTags).values(task.tags.map((tag) => ({ taskId: inserted.id, tenant: inserted.tenant, tag, seq: inserted.seq })));
        }
        return inserted;
      };
      // A task and its tags commit together; an untagged task is one statement, no transaction.
      const inserted = task.tags.length > 0 ? await db.transaction(insert) : await insert(db);
      if (inserted) return fromRow(inserted);
      // Another task holds the idempotency key (committed: the insert waited for it).
      const existing = await byIdempotencyKey(task.tenant, task.idempotencyKey!);
      if (!existing) throw new Error(`task insert conflicted, but no task holds idempotency key ${task.idempotencyKey}`);
      return existing;
    },

    async update(id, change) {
      for (let attempt = 1; ; attempt++) {
        const before = toTask((await byId.execute({ id }))[0]);
        const after = change(before);
        if (after === before) return { before, after };
        if (!before) throw new Error(`task ${id} does not exist, yet the change returned a state for it`);
        const saved = await saveIfUnchanged.execute({
          ...toChanges(after),
          id,
          readRevision: before.revision,
          readLease: before.leaseExpiresAt?.getTime() ?? null,
          notice: noticeOf(origin, after),
        });
        // The output totals as committed: an append may have landed since the read.
        const [row] = saved;
        if (row) return { before, after: { ...after, outputSeq: row.outputSeq, outputBytes: row.outputBytes } };
        if (attempt === MAX_UPDATE_ATTEMPTS) throw new Error(`task ${id}: ${attempt} conflicting writes in a row; giving up`);
      }
    },

    /** The row is locked for the append: appends to one task take their seqs one after another, and a write that ends the task waits for it. */
    appendOutput: (id, { stream, data, at, bytes }, check) =>
      db.transaction(async (tx) => {
        const [target] = await tx
          .select({ id: tasks.id, tenant: tasks.tenant, status: tasks.status, workerId: tasks.workerId, outputSeq: tasks.outputSeq, outputBytes: tasks.outputBytes })
          .from(tasks)
          .where(eq(tasks.id, id))
          .for('update');
        check(target ?? null);
        const seq = target!.outputSeq + 1;
        await tx
          .update(tasks)
          .set({ outputSeq: seq, outputBytes: sql`${tasks.outputBytes} + ${bytes}` })
          .where(eq(tasks.id, id));
        await tx
          .insert(taskOutput)
          .values({ taskId: id, seq, stream, data, at: at.getTime() })
          .returning({ notified: sql`pg_notify(${TASK_EVENTS_CHANNEL}, ${outputNoticeOf(origin, id, seq)})` });
        return seq;
      }),

    readOutput: async (id, after, limit, budget) =>
      (await outputAfter(id, after, limit, budget)).rows.map(({ seq, stream, data, at }) => ({ seq, stream, data, at: new Date(Number(at)) })),

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

    async countByStatus() {
      return countsOf(await db.select({ status: tasks.status, n: sql<number>`count(*)`.mapWith(Number) }).from(tasks).groupBy(tasks.status));
    },
  };
}
