import type { FeedWindow, StatusCounts } from '../tasks/store.js';
import { TASK_STATUSES, type Task, type TaskFailure, type TaskStatus } from '../tasks/task.js';
import type { PgTaskRow } from './postgres/tables.js';
import type { SqliteTaskRow } from './sqlite/tables.js';

/** A stored task as either engine returns it: the compiler checks below that the two rows have the same fields and types. */
export type TaskRow = SqliteTaskRow;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const ROWS_MATCH: Same<SqliteTaskRow, PgTaskRow> = true;

/** How a task is stored: times as epoch milliseconds, JSON values as text. Shared by both engines. */
const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const ms = (date: Date | null): number | null => (date ? date.getTime() : null);
const date = (value: number | null): Date | null => (value === null ? null : new Date(value));

/**
 * The columns a task changes after creation. A save writes only these, so a progress report
 * does not serialize the task's `input` (up to MAX_PAYLOAD_BYTES) again. The output totals
 * are not among them: only an append changes those, by its own statement, so a save that read
 * the row before an append cannot set them back.
 */
export const MUTABLE_COLUMNS = [
  'status',
  'progress',
  'message',
  'result',
  'error',
  'attempts',
  'revision',
  'workerId',
  'leaseSeconds',
  'leaseExpiresAt',
  'updatedAt',
  'startedAt',
  'completedAt',
  'feedPos',
] as const satisfies readonly (keyof TaskRow)[];

export function toChanges(task: Task): Pick<TaskRow, (typeof MUTABLE_COLUMNS)[number]> {
  return {
    status: task.status,
    progress: task.progress,
    message: task.message,
    result: json(task.result),
    error: json(task.error),
    attempts: task.attempts,
    revision: task.revision,
    workerId: task.workerId,
    leaseSeconds: task.leaseSeconds,
    leaseExpiresAt: ms(task.leaseExpiresAt),
    updatedAt: task.updatedAt.getTime(),
    startedAt: ms(task.startedAt),
    completedAt: ms(task.completedAt),
    feedPos: task.feedPos,
  };
}

export function toRow(task: Task): TaskRow {
  return {
    id: task.id,
    seq: task.seq,
    tenant: task.tenant,
    kind: task.kind,
    tags: JSON.stringify(task.tags),
    input: json(task.input),
    maxAttempts: task.maxAttempts,
    idempotencyKey: task.idempotencyKey,
    createdAt: task.createdAt.getTime(),
    outputSeq: task.outputSeq,
    outputBytes: task.outputBytes,
    ...toChanges(task),
  };
}

export function fromRow(row: TaskRow): Task {
  return {
    ...row,
    tags: JSON.parse(row.tags) as string[],
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

export const toTask = (row: TaskRow | undefined): Task | null => (row ? fromRow(row) : null);

/** Every status, 0 unless a row says otherwise. */
export function countsOf(rows: readonly { status: TaskStatus; n: number }[]): StatusCounts {
  const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as StatusCounts;
  for (const { status, n } of rows) counts[status] = Number(n);
  return counts;
}

/** The feed window of `rows`, the consecutive changes read after `after`: the tasks of `kinds` among them (all when null). */
export function feedWindowOf(rows: Task[], after: number, kinds: readonly string[] | null): FeedWindow {
  const wanted = kinds && new Set(kinds);
  return { tasks: wanted ? rows.filter((task) => wanted.has(task.kind)) : rows, scanned: rows.length, scannedTo: rows.at(-1)?.feedPos ?? after };
}
