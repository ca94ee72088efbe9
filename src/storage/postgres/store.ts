import { and, asc, desc, eq, getTableColumns, gt, inArray, isNotNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { PgDb } from './connection.js';
import { noticeOf, outputNoticeOf, TASK_EVENTS_CHANNEL } from './notices.js';
import { taskFeeds, taskOutput, taskTags, tasks } from './tables.js';
import { queueFull } from '../../tasks/quotas.js';
import { countsOf, feedWindowOf, fromRow, MUTABLE_COLUMNS, toChanges, toRow, toTask } from '../rows.js';
import type { TaskStore } from '../../tasks/store.js';
import type { Task } from '../../tasks/task.js';

export interface PgTaskStore extends TaskStore {
  /** The current revision of each of those ids that exists. */
  revisionsOf(ids: readonly string[]): Promise<Map<string, number>>;
  /** The last position taken in each of those tenants' feeds that has one. */
  feedPositions(tenants: readonly string[]): Promise<Map<string, number>>;
}

type Tx = Parameters<Parameters<PgDb['transaction']>[0]>[0];

/** A write's notice with the feed position it took (the row's `feed_pos`, known only in the statement). */
const notice = (payload: unknown) => sql`(${payload}::jsonb || jsonb_build_object('feedPos', ${tasks.feedPos}))::text`;

/** Conflicting writes to one task, one after another, before an update gives up. */
const MAX_UPDATE_ATTEMPTS = 50;

/**
 * The task store on PostgreSQL. Every write NOTIFYs `task_events` in its own transaction:
 * PostgreSQL delivers the notice to every listening instance if and only if the write
 * commits, in commit order.
 *
 * An update is optimistic: read the row, let the state machine decide, then write it only if
 * its revision and lease are still what was read; when another write got there first nothing
 * matches, and the update starts over from a fresh read. (The revision changes with every
 * change but a heartbeat, which changes the lease.) A heartbeat is one `UPDATE … RETURNING
 * pg_notify(…)`; a change is one statement that locks the row, takes its feed position,
 * saves and NOTIFYs (`saveAtNextPosition`). Claims and lease expiry lock rows `FOR UPDATE SKIP LOCKED`, so instances never
 * wait for each other's candidates.
 *
 * Feed positions: every change takes the next position of its tenant's feed from its
 * `task_feeds` row, as the last thing it does before saving the task and committing (after
 * every lock on tasks it takes; a create, in the statement that inserts it). The row lock that increment takes is held until commit, so
 * the tenant's next change waits for this one to commit before it takes the next position:
 * a tenant's positions commit in order, and a reader that sees position P sees every
 * position before it. A batch of lease expiries takes its tenants' positions in tenant order,
 * so two batches cannot deadlock.
 */
export function createPgTaskStore(db: PgDb, { origin }: { origin: string }): PgTaskStore {
  const byId = db.select().from(tasks).where(eq(tasks.id, sql.placeholder('id'))).prepare('task_by_id');
  // A heartbeat (no feed position), prepared once: building a statement with Drizzle costs more CPU than PostgreSQL spends running it.
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

  /**
   * One statement that saves a change at the tenant's next feed position, if the row is still
   * as read (revision and lease): it locks the row, then takes the position from the tenant's
   * `task_feeds` row (that lock, taken last, is held until commit: the tenant's next change
   * waits for this one to commit), then saves the change there and NOTIFYs, with the position,
   * in the same transaction. No row when another write got there first.
   */
  function saveAtNextPosition(runner: PgDb | Tx) {
    const held = runner.$with('held').as(
      runner
        .select({ tenant: tasks.tenant })
        .from(tasks)
        .where(
          and(
            eq(tasks.id, sql.placeholder('id')),
            eq(tasks.revision, sql.placeholder('readRevision')),
            sql`${tasks.leaseExpiresAt} IS NOT DISTINCT FROM ${sql.placeholder('readLease')}::bigint`,
          ),
        )
        .for('update'),
    );
    const taken = runner.$with('taken').as(
      runner
        .insert(taskFeeds)
        .select(sql`select "tenant", 1 from "held"`)
        .onConflictDoUpdate({ target: taskFeeds.tenant, set: { position: sql`${taskFeeds.position} + 1` } })
        .returning({ position: taskFeeds.position }),
    );
    return runner
      .with(held, taken)
      .update(tasks)
      .set({
        ...Object.fromEntries(MUTABLE_COLUMNS.filter((column) => column !== 'feedPos').map((column) => [column, sql`${sql.placeholder(column)}`])),
        feedPos: sql`${taken.position}`,
      })
      .from(taken)
      .where(eq(tasks.id, sql.placeholder('id')))
      .returning({
        feedPos: tasks.feedPos,
        outputSeq: tasks.outputSeq,
        outputBytes: tasks.outputBytes,
        notified: sql`pg_notify(${TASK_EVENTS_CHANNEL}, ${notice(sql.placeholder('notice'))})`,
      });
  }
  const saveChangeIfStill = saveAtNextPosition(db).prepare('task_save_change');

  /** The values of `saveAtNextPosition` for changing `before` into `after`. */
  const changeValues = (before: Task, after: Task) => ({
    ...toChanges(after),
    id: before.id,
    readRevision: before.revision,
    readLease: before.leaseExpiresAt?.getTime() ?? null,
    notice: noticeOf(origin, after),
  });

  /** A change of a row this transaction holds, saved at its tenant's next feed position. */
  async function saveChange(tx: Tx, before: Task, after: Task): Promise<Task> {
    const [saved] = await saveAtNextPosition(tx).prepare('task_save_change').execute(changeValues(before, after));
    return { ...after, feedPos: saved!.feedPos };
  }

  const feedAfter = async (tenant: string, after: number, limit: number): Promise<Task[]> => {
    const rows = await db
      .select()
      .from(tasks)
      .where(and(eq(tasks.tenant, tenant), gt(tasks.feedPos, after)))
      .orderBy(asc(tasks.feedPos))
      .limit(limit);
    return rows.map(fromRow);
  };

  return {
    get: async (id) => toTask((await byId.execute({ id }))[0]),

    async getMany(ids) {
      if (ids.length === 0) return [];
      return (await db.select().from(tasks).where(inArray(tasks.id, [...ids]))).map(fromRow);
    },

    // One statement, so one snapshot: the kinds are picked out of the rows it read.
    changesOfKinds: async (tenant, after, limit, kinds) => feedWindowOf(await feedAfter(tenant, after, limit), after, kinds),

    async feedPosition(tenant) {
      const [row] = await db.select({ position: taskFeeds.position }).from(taskFeeds).where(eq(taskFeeds.tenant, tenant));
      return row?.position ?? 0;
    },

    async feedPositions(tenants) {
      if (tenants.length === 0) return new Map();
      const rows = await db.select().from(taskFeeds).where(inArray(taskFeeds.tenant, [...tenants]));
      return new Map(rows.map((row) => [row.tenant, row.position]));
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
      const insert = async (runner: Tx | PgDb) => {
        // The position first, in the same statement: nothing is locked before it but the new row.
        const taken = runner.$with('taken').as(
          runner
            .insert(taskFeeds)
            .values({ tenant: task.tenant, position: 1 })
            .onConflictDoUpdate({ target: taskFeeds.tenant, set: { position: sql`${taskFeeds.position} + 1` } })
            .returning({ position: taskFeeds.position }),
        );
        const [created] = await runner
          .with(taken)
          .insert(tasks)
          .values({ ...row, feedPos: sql`(select "position" from "taken")` })
          .onConflictDoNothing({ target: [tasks.tenant, tasks.idempotencyKey] })
          .returning({ ...getTableColumns(tasks), notified: sql`pg_notify(${TASK_EVENTS_CHANNEL}, ${notice(noticeOf(origin, task))})` });
        if (!created) return null;
        const { notified: _sent, ...stored } = created;
        if (task.tags.length > 0) {
          await runner.insert(taskTags).values(task.tags.map((tag) => ({ taskId: stored.id, tenant: stored.tenant, tag, seq: stored.seq })));
        }
        return fromRow(stored);
      };
      // A task and its tags commit together; an untagged task is one statement, no transaction.
      const inserted = task.tags.length > 0 ? await db.transaction(insert) : await insert(db);
      if (inserted) return inserted;
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
        // The output totals as committed: an append may have landed since the read.
        if (after.revision !== before.revision) {
          const [saved] = await saveChangeIfStill.execute(changeValues(before, after));
          if (saved) return { before, after: { ...after, feedPos: saved.feedPos, outputSeq: saved.outputSeq, outputBytes: saved.outputBytes } };
        } else {
          const [saved] = await saveIfUnchanged.execute({
            ...toChanges(after),
            id,
            readRevision: before.revision,
            readLease: before.leaseExpiresAt?.getTime() ?? null,
            notice: noticeOf(origin, after),
          });
          if (saved) return { before, after: { ...after, outputSeq: saved.outputSeq, outputBytes: saved.outputBytes } };
        }
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
        const task = fromRow(row);
        return saveChange(tx, task, change(task));
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
        const held = rows.map(fromRow).sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
        const expired: Task[] = [];
        for (const task of held) expired.push(await saveChange(tx, task, change(task)));
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
