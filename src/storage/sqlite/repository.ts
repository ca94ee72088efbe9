import { and, asc, desc, eq, getTableColumns, gt, inArray, isNotNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './connection.js';
import { taskFeeds, taskOutput, taskTags, tasks, type SqliteTaskRow as TaskRow } from './tables.js';
import { countsOf, feedWindowOf, fromRow, MUTABLE_COLUMNS, toChanges, toRow, toTask } from '../rows.js';
import type { NewOutputChunk, OutputChunk, OutputTarget } from '../../tasks/output.js';
import type { FeedWindow, ListFilter, StatusCounts } from '../../tasks/store.js';
import type { Task, TaskStatus } from '../../tasks/task.js';

/**
 * Synchronous storage of tasks on better-sqlite3. Every method is one statement or,
 * inside `transaction`, part of one transaction; nothing here awaits.
 */
export interface TaskRepository {
  /** Runs `work` in an IMMEDIATE transaction; called inside another, it is a savepoint of it. */
  transaction<T>(work: () => T): T;
  get(id: string): Task | null;
  findByIdempotencyKey(tenant: string, key: string): Task | null;
  /** The oldest QUEUED task of the tenant, of one of `kinds` (any kind when null or empty). */
  oldestQueued(tenant: string, kinds: readonly string[] | null): Task | null;
  list(filter: ListFilter): Task[];
  /** `TaskStore.changesOfKinds`: for some kinds, two reads that nothing can come between (no await). */
  changesOfKinds(tenant: string, after: number, limit: number, kinds: readonly string[] | null): FeedWindow;
  /** The last position taken in the tenant's feed (0 before any). */
  feedPosition(tenant: string): number;
  /** Takes the next position of the tenant's feed (inside the transaction of the change that takes it). */
  nextFeedPosition(tenant: string): number;
  /** Inserts the task, assigning its `seq` and its feed position; returns it as stored. */
  insert(task: Task): Task;
  /** Writes the fields a task changes after creation over its row. */
  save(task: Task): void;
  /** What an append needs of task `id` to decide (not its input or result). */
  outputTarget(id: string): OutputTarget | null;
  /** Stores a chunk at task `id`'s next seq and adds it to the task's totals; returns that seq. */
  appendOutput(id: string, chunk: NewOutputChunk): number;
  /** Task `id`'s chunks with seq > `after`, in seq order, at most `limit`, ending with the one that reaches `budget` bytes. */
  readOutput(id: string, after: number, limit: number, budget: number): OutputChunk[];
  /** Running tasks whose lease ended at or before `now`, oldest first. */
  expiredLeases(now: number, limit: number): Task[];
  /** The earliest lease end among running tasks, in epoch ms. */
  nextLeaseExpiry(): number | null;
  /** Deletes up to `limit` tasks that reached a final state before `before`; returns their statuses. */
  deleteFinishedBefore(before: number, limit: number): TaskStatus[];
  /** How many tasks there are in each status, over all tenants: a scan of an index, so it grows with the table (read at scrape time only). */
  countByStatus(): StatusCounts;
  /** How many QUEUED tasks each tenant has (tenants with none left out): a scan of an index. */
  queuedByTenant(): Map<string, number>;
}

type OutputRow = { seq: number; stream: string; data: string; at: number };

export function createTaskRepository(db: Db): TaskRepository {
  const inTransaction = db.$client.transaction((work: () => unknown) => work());
  const byId = db.select().from(tasks).where(eq(tasks.id, sql.placeholder('id'))).prepare();
  const byIdempotencyKey = db
    .select()
    .from(tasks)
    .where(and(eq(tasks.tenant, sql.placeholder('tenant')), eq(tasks.idempotencyKey, sql.placeholder('key'))))
    .prepare();
  const nextExpiry = db
    .select({ at: sql<number | null>`min(${tasks.leaseExpiresAt})` })
    .from(tasks)
    .where(eq(tasks.status, 'RUNNING'))
    .prepare();
  const countStatuses = db.select({ status: tasks.status, n: sql<number>`count(*)` }).from(tasks).groupBy(tasks.status).prepare();
  const countQueued = db
    .select({ tenant: tasks.tenant, n: sql<number>`count(*)` })
    .from(tasks)
    .where(eq(tasks.status, 'QUEUED'))
    .groupBy(tasks.tenant)
    .prepare();
  const insertTask = db.insert(tasks).values(placeholders(Object.keys(getTableColumns(tasks)) as (keyof TaskRow)[])).prepare();
  // Building a statement costs many times more than running it (bench/load/repository-writes.ts
  // measures it): each shape of query is prepared once, on first use, and kept.
  const insertTag = db
    .insert(taskTags)
    .values({ taskId: sql.placeholder('taskId'), tenant: sql.placeholder('tenant'), tag: sql.placeholder('tag'), seq: sql.placeholder('seq') })
    .prepare();
  const lastSeq = db.select({ seq: sql<number | null>`max(${tasks.seq})` }).from(tasks).prepare();
  const saveTask = db
    .update(tasks)
    .set(Object.fromEntries(MUTABLE_COLUMNS.map((column) => [column, sql`${sql.placeholder(column)}`])))
    .where(eq(tasks.id, sql.placeholder('id')))
    .prepare();
  const targetById = db
    .select({ id: tasks.id, tenant: tasks.tenant, status: tasks.status, workerId: tasks.workerId, outputSeq: tasks.outputSeq, outputBytes: tasks.outputBytes })
    .from(tasks)
    .where(eq(tasks.id, sql.placeholder('id')))
    .prepare();
  const countOutput = db
    .update(tasks)
    .set({ outputSeq: sql`${tasks.outputSeq} + 1`, outputBytes: sql`${tasks.outputBytes} + ${sql.placeholder('bytes')}` })
    .where(eq(tasks.id, sql.placeholder('id')))
    .returning({ seq: tasks.outputSeq })
    .prepare();
  const insertOutput = db
    .insert(taskOutput)
    .values({ taskId: sql.placeholder('taskId'), seq: sql.placeholder('seq'), stream: sql.placeholder('stream'), data: sql.placeholder('data'), at: sql.placeholder('at') })
    .prepare();
  // The first `limit` chunks after `after`, cut after the one that reaches `budget` bytes: a read
  // holds a bounded amount of output, whatever the chunks' sizes (the first always comes).
  const outputAfter = db.$client.prepare<[string, number, number, number], OutputRow>(`
    SELECT seq, stream, data, at FROM (
      SELECT seq, stream, data, at, bytes, sum(bytes) OVER (ORDER BY seq) AS upto FROM (
        SELECT seq, stream, data, at, length(CAST(data AS BLOB)) AS bytes FROM task_output
        WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?
      )
    ) WHERE upto - bytes < ? ORDER BY seq`);
  const feedAfter = db
    .select()
    .from(tasks)
    .where(and(eq(tasks.tenant, sql.placeholder('tenant')), gt(tasks.feedPos, sql.placeholder('after'))))
    .orderBy(asc(tasks.feedPos))
    .limit(sql.placeholder('limit'))
    .prepare();
  /** How many of the next `limit` positions after `after` exist, and the last: from the feed index alone. */
  const feedWindow = db.$client.prepare<{ tenant: string; after: number; limit: number }, { scanned: number; scannedTo: number | null }>(`
    SELECT count(*) AS scanned, max(feed_pos) AS scannedTo
    FROM (SELECT feed_pos FROM tasks WHERE tenant = @tenant AND feed_pos > @after ORDER BY feed_pos LIMIT @limit)
  `);
  const feedOfKindsInWindow = db
    .select()
    .from(tasks)
    .where(
      and(
        eq(tasks.tenant, sql.placeholder('tenant')),
        gt(tasks.feedPos, sql.placeholder('after')),
        lte(tasks.feedPos, sql.placeholder('upTo')),
        sql`${tasks.kind} in (select value from json_each(${sql.placeholder('kinds')}))`,
      ),
    )
    .orderBy(asc(tasks.feedPos))
    .prepare();
  const feedPosition = db
    .select({ position: taskFeeds.position })
    .from(taskFeeds)
    .where(eq(taskFeeds.tenant, sql.placeholder('tenant')))
    .prepare();
  const takeFeedPosition = db
    .insert(taskFeeds)
    .values({ tenant: sql.placeholder('tenant'), position: 1 })
    .onConflictDoUpdate({ target: taskFeeds.tenant, set: { position: sql`${taskFeeds.position} + 1` } })
    .returning({ position: taskFeeds.position })
    .prepare();
  const statements = new Map<string, { all(values: Record<string, unknown>): TaskRow[] }>();
  const prepared = (shape: string, build: () => { all(values: Record<string, unknown>): TaskRow[] }) => {
    let statement = statements.get(shape);
    if (!statement) statements.set(shape, (statement = build()));
    return statement;
  };

  return {
    transaction: <T>(work: () => T) => inTransaction.immediate(work) as T,

    get: (id) => toTask(byId.get({ id })),

    findByIdempotencyKey: (tenant, key) => toTask(byIdempotencyKey.get({ tenant, key })),

    oldestQueued(tenant, kinds) {
      const shape = !kinds?.length ? 'any' : kinds.length === 1 ? 'one' : 'several';
      const statement = prepared(`oldestQueued:${shape}`, () => {
        const ofKinds = {
          any: undefined,
          one: eq(tasks.kind, sql.placeholder('kind')),
          // One statement for any number of kinds, however many a claim names.
          several: sql`${tasks.kind} in (select value from json_each(${sql.placeholder('kinds')}))`,
        }[shape];
        return db
          .select()
          .from(tasks)
          .where(and(eq(tasks.tenant, sql.placeholder('tenant')), eq(tasks.status, 'QUEUED'), ofKinds))
          .orderBy(asc(tasks.seq))
          .limit(1)
          .prepare();
      });
      return toTask(statement.all({ tenant, kind: kinds?.[0], kinds: JSON.stringify(kinds ?? []) })[0]);
    },

    list({ tenant, status, kind, tag, after, limit }) {
      const shape = `list:${tenant !== null}:${Boolean(status)}:${Boolean(kind)}:${Boolean(tag)}:${Boolean(after)}`;
      const statement = prepared(shape, () => {
        const conditions: (SQL | undefined)[] = [
          status ? eq(tasks.status, sql.placeholder('status')) : undefined,
          kind ? eq(tasks.kind, sql.placeholder('kind')) : undefined,
        ];
        if (tag) {
          // From the tag's index: the tenant's tasks with that tag, newest first.
          return db
            .select(getTableColumns(tasks))
            .from(taskTags)
            .innerJoin(tasks, eq(tasks.id, taskTags.taskId))
            .where(
              and(
                tenant !== null ? eq(taskTags.tenant, sql.placeholder('tenant')) : undefined,
                eq(taskTags.tag, sql.placeholder('tag')),
                after ? lt(taskTags.seq, sql.placeholder('afterSeq')) : undefined,
                ...conditions,
              ),
            )
            .orderBy(desc(taskTags.seq))
            .limit(sql.placeholder('limit'))
            .prepare();
        }
        return db
          .select()
          .from(tasks)
          .where(and(tenant !== null ? eq(tasks.tenant, sql.placeholder('tenant')) : undefined, after ? lt(tasks.seq, sql.placeholder('afterSeq')) : undefined, ...conditions))
          .orderBy(desc(tasks.seq))
          .limit(sql.placeholder('limit'))
          .prepare();
      });
      return statement.all({ tenant, status, kind, tag, afterSeq: after?.seq, limit }).map(fromRow);
    },

    changesOfKinds(tenant, after, limit, kinds) {
      if (!kinds) return feedWindowOf(feedAfter.all({ tenant, after, limit }).map(fromRow), after, null);
      const { scanned, scannedTo } = feedWindow.get({ tenant, after, limit })!;
      if (scannedTo === null) return { tasks: [], scanned: 0, scannedTo: after };
      const found = feedOfKindsInWindow.all({ tenant, after, upTo: scannedTo, kinds: JSON.stringify(kinds) }).map(fromRow);
      return { tasks: found, scanned, scannedTo };
    },

    feedPosition: (tenant) => feedPosition.get({ tenant })?.position ?? 0,

    nextFeedPosition: (tenant) => takeFeedPosition.get({ tenant })!.position,

    insert(task) {
      const stored = { ...task, seq: (lastSeq.get()?.seq ?? 0) + 1, feedPos: takeFeedPosition.get({ tenant: task.tenant })!.position };
      insertTask.run(toRow(stored));
      for (const tag of stored.tags) insertTag.run({ taskId: stored.id, tenant: stored.tenant, tag, seq: stored.seq });
      return stored;
    },

    save(task) {
      saveTask.run({ id: task.id, ...toChanges(task) });
    },

    outputTarget: (id) => targetById.get({ id }) ?? null,

    appendOutput(id, { stream, data, at, bytes }) {
      const counted = countOutput.get({ id, bytes });
      if (!counted) throw new Error(`task ${id} does not exist, yet output was appended to it`);
      insertOutput.run({ taskId: id, seq: counted.seq, stream, data, at: at.getTime() });
      return counted.seq;
    },

    readOutput: (id, after, limit, budget) => outputAfter.all(id, after, limit, budget).map((row) => ({ ...row, at: new Date(row.at) })),

    expiredLeases: (now, limit) =>
      db
        .select()
        .from(tasks)
        .where(and(eq(tasks.status, 'RUNNING'), lte(tasks.leaseExpiresAt, now)))
        .orderBy(asc(tasks.leaseExpiresAt))
        .limit(limit)
        .all()
        .map(fromRow),

    nextLeaseExpiry: () => nextExpiry.get()?.at ?? null,

    deleteFinishedBefore(before, limit) {
      const doomed = db
        .select({ id: tasks.id })
        .from(tasks)
        .where(and(isNotNull(tasks.completedAt), lt(tasks.completedAt, before)))
        .limit(limit);
      return db
        .delete(tasks)
        .where(inArray(tasks.id, doomed))
        .returning({ status: tasks.status })
        .all()
        .map(({ status }) => status);
    },

    countByStatus() {
      return countsOf(countStatuses.all());
    },

    queuedByTenant: () => new Map(countQueued.all().map(({ tenant, n }) => [tenant, n])),
  };
}

/** `{ column: sql.placeholder(column) }` for the given columns, to prepare a statement once. */
function placeholders(columns: (keyof TaskRow)[]) {
  return Object.fromEntries(columns.map((column) => [column, sql.placeholder(column)])) as Record<
    keyof TaskRow,
    ReturnType<typeof sql.placeholder>
  >;
}
