import { and, asc, desc, eq, getTableColumns, inArray, isNotNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { tasks, type TaskRow } from '../db/tables.js';
import type { Task, TaskFailure, TaskStatus } from './task.js';

/** Where a page of a newest-first listing starts: strictly after this task. */
export interface ListPosition {
  createdAt: number;
  id: string;
}

export interface ListFilter {
  tenant: string;
  status?: TaskStatus | null;
  kind?: string | null;
  after?: ListPosition | null;
  limit: number;
}

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
  insert(task: Task): void;
  /** Writes every mutable field of `task` over its row. */
  save(task: Task): void;
  /** Running tasks whose lease ended at or before `now`, oldest first. */
  expiredLeases(now: number, limit: number): Task[];
  /** The earliest lease end among running tasks, in epoch ms. */
  nextLeaseExpiry(): number | null;
  /** Deletes up to `limit` tasks that reached a final state before `before`; returns how many. */
  deleteFinishedBefore(before: number, limit: number): number;
}

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
  const insertTask = db.insert(tasks).values(placeholders()).prepare();

  return {
    transaction: <T>(work: () => T) => inTransaction.immediate(work) as T,

    get: (id) => toTask(byId.get({ id })),

    findByIdempotencyKey: (tenant, key) => toTask(byIdempotencyKey.get({ tenant, key })),

    oldestQueued(tenant, kinds) {
      const row = db
        .select()
        .from(tasks)
        .where(
          and(
            eq(tasks.tenant, tenant),
            eq(tasks.status, 'QUEUED'),
            kinds && kinds.length > 0 ? inArray(tasks.kind, [...kinds]) : undefined,
          ),
        )
        .orderBy(asc(tasks.createdAt), asc(tasks.id))
        .limit(1)
        .get();
      return toTask(row);
    },

    list({ tenant, status, kind, after, limit }) {
      const conditions: (SQL | undefined)[] = [
        eq(tasks.tenant, tenant),
        status ? eq(tasks.status, status) : undefined,
        kind ? eq(tasks.kind, kind) : undefined,
        after
          ? or(lt(tasks.createdAt, after.createdAt), and(eq(tasks.createdAt, after.createdAt), lt(tasks.id, after.id)))
          : undefined,
      ];
      return db
        .select()
        .from(tasks)
        .where(and(...conditions))
        .orderBy(desc(tasks.createdAt), desc(tasks.id))
        .limit(limit)
        .all()
        .map(fromRow);
    },

    insert: (task) => {
      insertTask.run(toRow(task));
    },

    save(task) {
      const { id, tenant: _tenant, createdAt: _createdAt, ...changes } = toRow(task);
      db.update(tasks).set(changes).where(eq(tasks.id, id)).run();
    },

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
      return db.delete(tasks).where(inArray(tasks.id, doomed)).run().changes;
    },
  };
}

/** `{ column: sql.placeholder(column) }` for every column, to prepare the insert once. */
function placeholders() {
  const columns = Object.keys(getTableColumns(tasks)) as (keyof TaskRow)[];
  return Object.fromEntries(columns.map((column) => [column, sql.placeholder(column)])) as Record<
    keyof TaskRow,
    ReturnType<typeof sql.placeholder>
  >;
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const ms = (date: Date | null): number | null => (date ? date.getTime() : null);
const date = (value: number | null): Date | null => (value === null ? null : new Date(value));

function toRow(task: Task): TaskRow {
  return {
    id: task.id,
    tenant: task.tenant,
    kind: task.kind,
    status: task.status,
    progress: task.progress,
    message: task.message,
    input: json(task.input),
    result: json(task.result),
    error: json(task.error),
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    revision: task.revision,
    idempotencyKey: task.idempotencyKey,
    workerId: task.workerId,
    leaseSeconds: task.leaseSeconds,
    leaseExpiresAt: ms(task.leaseExpiresAt),
    createdAt: task.createdAt.getTime(),
    updatedAt: task.updatedAt.getTime(),
    startedAt: ms(task.startedAt),
    completedAt: ms(task.completedAt),
  };
}

function fromRow(row: TaskRow): Task {
  return {
    ...row,
    input: parse(row.input),
    result: parse(row.result),
    error: parse(row.error) as TaskFailure | null,
    leaseExpiresAt: date(row.leaseExpiresAt),
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    startedAt: date(row.startedAt),
    completedAt: date(row.completedAt),
  };
}

const toTask = (row: TaskRow | undefined): Task | null => (row ? fromRow(row) : null);
