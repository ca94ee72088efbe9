import { badInput, invalidTransition, leaseMismatch } from './errors.js';

export const TASK_STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

export interface TaskFailure {
  message: string;
  code: string | null;
  details: unknown;
}

/** One task as stored and as published: every event carries the whole row. */
export interface Task {
  id: string;
  /** Creation order, assigned by storage on insert (0 before). */
  seq: number;
  tenant: string;
  kind: string;
  /** Given at creation, never changed; [] when none. */
  tags: string[];
  status: TaskStatus;
  /** 0..100; 100 once COMPLETED. */
  progress: number;
  message: string | null;
  input: unknown;
  result: unknown;
  error: TaskFailure | null;
  /** Claims so far. */
  attempts: number;
  maxAttempts: number;
  /** 1 on creation, +1 on every committed change; a lease extension is not one. */
  revision: number;
  idempotencyKey: string | null;
  workerId: string | null;
  /** Lease length granted by the last claim or heartbeat, in seconds. */
  leaseSeconds: number | null;
  leaseExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  /** The seq of the last output chunk; 0 when none. Kept by storage: only an append changes it. */
  outputSeq: number;
  /** UTF-8 bytes of all output chunks so far. Kept by storage, like `outputSeq`. */
  outputBytes: number;
}

export const isFinal = (status: TaskStatus): boolean => FINAL_STATUSES.has(status);

export interface NewTask {
  id: string;
  tenant: string;
  kind: string;
  /** Checked and without duplicates (validate.ts `checkTags`). @default [] */
  tags?: readonly string[];
  input: unknown;
  idempotencyKey: string | null;
  maxAttempts: number;
}

/** Most attempts a task may be given (`maxAttempts`): each is a claim, and possibly a lease that must run out. */
export const MAX_ATTEMPTS = 100;

export function createTask(spec: NewTask, now: Date): Task {
  if (spec.kind.trim() === '') throw badInput('kind must not be empty.');
  if (!Number.isInteger(spec.maxAttempts) || spec.maxAttempts < 1 || spec.maxAttempts > MAX_ATTEMPTS) {
    throw badInput(`maxAttempts must be an integer from 1 to ${MAX_ATTEMPTS}.`);
  }
  return {
    ...spec,
    tags: [...(spec.tags ?? [])],
    seq: 0,
    status: 'QUEUED',
    progress: 0,
    message: null,
    result: null,
    error: null,
    attempts: 0,
    revision: 1,
    workerId: null,
    leaseSeconds: null,
    leaseExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    completedAt: null,
    outputSeq: 0,
    outputBytes: 0,
  };
}

/** Longest lease a worker may take or extend to, in seconds (a day); a longer job heartbeats. */
export const MAX_LEASE_SECONDS = 86_400;

/** Validates a lease length in seconds: an integer from 1 to MAX_LEASE_SECONDS. */
export function checkLeaseSeconds(leaseSeconds: number): number {
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > MAX_LEASE_SECONDS) {
    throw badInput(`leaseSeconds must be an integer from 1 to ${MAX_LEASE_SECONDS}.`);
  }
  return leaseSeconds;
}

const leaseUntil = (now: Date, seconds: number) => new Date(now.getTime() + seconds * 1000);

/** The change every committed write makes besides its own fields. */
const bump = (task: Task, now: Date): Pick<Task, 'revision' | 'updatedAt'> => ({
  revision: task.revision + 1,
  updatedAt: now,
});

export function claim(task: Task, workerId: string, leaseSeconds: number, now: Date): Task {
  if (task.status !== 'QUEUED') throw invalidTransition(`Task is ${task.status}; only a QUEUED task can be claimed.`);
  return {
    ...task,
    ...bump(task, now),
    status: 'RUNNING',
    attempts: task.attempts + 1,
    workerId,
    leaseSeconds,
    leaseExpiresAt: leaseUntil(now, leaseSeconds),
    startedAt: now,
  };
}

/**
 * Checks that a worker's write may apply to this task: a final task refuses every write,
 * a worker that does not hold the lease is told so, and only a RUNNING task takes worker writes.
 */
function assertWorkerWrite(task: Pick<Task, 'status' | 'workerId'>, workerId: string | null | undefined, action: string): void {
  if (isFinal(task.status)) throw invalidTransition(`Task is ${task.status}, a final state; cannot ${action}.`);
  if (workerId != null && (task.status !== 'RUNNING' || task.workerId !== workerId)) {
    throw leaseMismatch(`Worker "${workerId}" does not hold the lease on this task.`);
  }
  if (task.status !== 'RUNNING') throw invalidTransition(`Task is ${task.status}; cannot ${action} before it is claimed.`);
}

/**
 * Checks that `workerId` may append output to this task: only a RUNNING task takes output,
 * from the worker holding its lease (any worker when `workerId` is not given, as for the other
 * worker writes). Not a change: the task's revision, state and lease stay as they are.
 */
export function assertCanAppendOutput(task: Pick<Task, 'status' | 'workerId'>, workerId: string | null | undefined): void {
  assertWorkerWrite(task, workerId, 'append output');
}

/** Extends the lease. Not a change: revision and updatedAt stay as they are. */
export function heartbeat(task: Task, workerId: string, leaseSeconds: number, now: Date): Task {
  assertWorkerWrite(task, workerId, 'heartbeat');
  return { ...task, leaseSeconds, leaseExpiresAt: leaseUntil(now, leaseSeconds) };
}

export function reportProgress(
  task: Task,
  progress: number,
  message: string | null | undefined,
  workerId: string | null | undefined,
  now: Date,
): Task {
  if (!Number.isInteger(progress) || progress < 0 || progress > 100) {
    throw badInput('progress must be an integer from 0 to 100.');
  }
  assertWorkerWrite(task, workerId, 'report progress');
  return {
    ...task,
    ...bump(task, now),
    progress,
    message: message === undefined ? task.message : message,
    leaseExpiresAt: leaseUntil(now, task.leaseSeconds ?? 0),
  };
}

const finish = (task: Task, now: Date) => ({
  ...bump(task, now),
  workerId: null,
  leaseExpiresAt: null,
  completedAt: now,
});

export function complete(task: Task, result: unknown, workerId: string | null | undefined, now: Date): Task {
  assertWorkerWrite(task, workerId, 'complete');
  return { ...task, ...finish(task, now), status: 'COMPLETED', progress: 100, result: result ?? null, error: null };
}

/**
 * Fails the current attempt. With `retry` and attempts left the task goes back to QUEUED,
 * keeping the failure in `error` until a later attempt completes.
 */
export function fail(
  task: Task,
  failure: TaskFailure,
  retry: boolean,
  workerId: string | null | undefined,
  now: Date,
): Task {
  assertWorkerWrite(task, workerId, 'fail');
  return retry && task.attempts < task.maxAttempts ? requeue(task, failure, now) : { ...task, ...finish(task, now), status: 'FAILED', error: failure };
}

function requeue(task: Task, failure: TaskFailure, now: Date): Task {
  return { ...task, ...bump(task, now), status: 'QUEUED', error: failure, workerId: null, leaseExpiresAt: null };
}

/** Ends a QUEUED or RUNNING task; a final task comes back unchanged (cancel is safe to retry). */
export function cancel(task: Task, reason: string | null | undefined, now: Date): Task {
  if (isFinal(task.status)) return task;
  return {
    ...task,
    ...finish(task, now),
    status: 'CANCELLED',
    error: { message: reason ?? 'Cancelled.', code: 'CANCELLED', details: null },
  };
}

/** A lease ran out: back to QUEUED while attempts remain, else FAILED with LEASE_EXPIRED. */
export function expireLease(task: Task, now: Date): Task {
  if (task.status !== 'RUNNING') return task;
  const failure: TaskFailure = {
    message: `Worker "${task.workerId}" stopped renewing its lease.`,
    code: 'LEASE_EXPIRED',
    details: null,
  };
  return task.attempts < task.maxAttempts ? requeue(task, failure, now) : { ...task, ...finish(task, now), status: 'FAILED', error: failure };
}
