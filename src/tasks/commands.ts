import { randomBytes } from 'node:crypto';
import { DomainError, notFound } from './errors.js';
import type { TaskEvents } from './events.js';
import { checkAppend, checkChunk, checkStream, type OutputLimits } from './output.js';
import { assertWorker, canSee, type Principal } from './principal.js';
import { createTokenBuckets, QuotaError, type RefusalReason } from './quotas.js';
import type { TaskStore } from './store.js';
import * as machine from './task.js';
import type { Task } from './task.js';
import { checkKinds, checkName, checkPayload, checkTags, checkText, isValidId } from './validate.js';

export type WriteOperation = 'create' | 'claim' | 'heartbeat' | 'reportProgress' | 'complete' | 'fail' | 'cancel' | 'appendOutput';

export interface TaskServiceObserver {
  /** A write ended after `seconds`: `outcome` is 'ok', the error code it was refused with, or 'error' when unexpected. */
  wrote(operation: WriteOperation, seconds: number, outcome: string): void;
  /** A quota refused a request (a write, a stream). */
  refused?(reason: RefusalReason): void;
  /** A `taskOutput` stream read a page of chunks from storage (it fell behind, or heard only a seq). */
  outputPageRead?(): void;
}

export interface CommandLimits extends OutputLimits {
  /** Largest serialized `input` or `result`, in bytes. */
  maxPayloadBytes: number;
  /** Writes per second per tenant, every write counted (a refused one too): a token bucket's refill. Unset: no limit. */
  tenantWritesPerSecond?: number;
  /** Writes a tenant may make at once, before its rate applies: the bucket's size. @default tenantWritesPerSecond */
  tenantWriteBurst?: number;
  /** Most QUEUED tasks per tenant: createTask past it is refused. Unset: no cap. */
  maxQueuedPerTenant?: number;
}

/**
 * The writes: each is one transaction in the store, admitted by its tenant's write rate,
 * timed for the observer, and published only once it has committed (with its lease handed to
 * the lease timer).
 */
export function createCommands({
  store,
  events,
  limits,
  clock,
  observer,
  leaseEndsAt,
  assertOpen,
}: {
  store: TaskStore;
  events: TaskEvents;
  limits: CommandLimits;
  clock: () => Date;
  observer: TaskServiceObserver;
  leaseEndsAt: (time: number) => void;
  assertOpen: () => void;
}) {
  const writeRate =
    limits.tenantWritesPerSecond === undefined
      ? null
      : createTokenBuckets({
          ratePerSecond: limits.tenantWritesPerSecond,
          burst: limits.tenantWriteBurst ?? limits.tenantWritesPerSecond,
          now: () => clock().getTime(),
        });

  /** After a write commits: its row to the subscribers (if it is a change), its lease to the timer. */
  function committed(before: Task | null, after: Task | null): void {
    if (!after) return;
    if (after.revision !== before?.revision) events.publish(after);
    if (after.leaseExpiresAt) leaseEndsAt(after.leaseExpiresAt.getTime());
  }

  /** Applies `change` to one task in a transaction; publishes the row once committed. */
  async function write(principal: Principal, id: string, change: (task: Task, now: Date) => Task): Promise<Task> {
    assertOpen();
    if (!isValidId(id)) throw notFound(id);
    const { before, after } = await store.update(id, (task) => {
      if (!task || !canSee(principal, task)) throw notFound(id);
      return change(task, clock());
    });
    committed(before, after);
    return after;
  }

  /**
   * Runs one write of `principal`'s, once its tenant's write rate admits it, and tells the
   * observer how long it took and how it ended.
   */
  async function timed<T>(operation: WriteOperation, principal: Principal, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const waitSeconds = writeRate?.take(principal.tenant) ?? 0;
      if (waitSeconds > 0) {
        throw new QuotaError(
          'tenant_write_rate',
          `This tenant writes faster than its quota of ${limits.tenantWritesPerSecond} per second; retry later.`,
          Math.ceil(waitSeconds),
        );
      }
      const result = await work();
      outcome = 'ok';
      return result;
    } catch (error) {
      if (error instanceof DomainError) outcome = error.code;
      if (error instanceof QuotaError) observer.refused?.(error.reason);
      throw error;
    } finally {
      observer.wrote(operation, (performance.now() - started) / 1000, outcome);
    }
  }

  return {
    create(
      principal: Principal,
      spec: { kind: string; input?: unknown; idempotencyKey?: string | null; maxAttempts: number; tags?: readonly string[] | null },
    ): Promise<Task> {
      return timed('create', principal, async () => {
        assertOpen();
        checkName('kind', spec.kind);
        if (spec.idempotencyKey != null) checkName('idempotencyKey', spec.idempotencyKey);
        checkPayload('input', spec.input, limits.maxPayloadBytes);
        const tags = checkTags(spec.tags);
        const task = machine.createTask(
          {
            id: newTaskId(),
            tenant: principal.tenant,
            kind: spec.kind,
            tags,
            input: spec.input ?? null,
            idempotencyKey: spec.idempotencyKey ?? null,
            maxAttempts: spec.maxAttempts,
          },
          clock(),
        );
        return store.create(task, { maxQueued: limits.maxQueuedPerTenant });
      });
    },

    /**
     * Claims the oldest queued task of the caller's tenant, of `kinds` (any kind when empty);
     * null when none is queued. Claiming is per tenant, for admin keys too.
     */
    claim(principal: Principal, { kinds, workerId, leaseSeconds }: { kinds?: readonly string[] | null; workerId: string; leaseSeconds: number }): Promise<Task | null> {
      return timed('claim', principal, async () => {
        assertOpen();
        assertWorker(principal);
        checkName('workerId', workerId);
        checkKinds(kinds);
        machine.checkLeaseSeconds(leaseSeconds);
        const claimed = await store.claim(principal.tenant, kinds ?? null, (task) => machine.claim(task, workerId, leaseSeconds, clock()));
        committed(null, claimed);
        return claimed;
      });
    },

    heartbeat(principal: Principal, { id, workerId, leaseSeconds }: { id: string; workerId: string; leaseSeconds: number }) {
      return timed('heartbeat', principal, async () => {
        assertWorker(principal);
        machine.checkLeaseSeconds(leaseSeconds);
        return write(principal, id, (task, now) => machine.heartbeat(task, workerId, leaseSeconds, now));
      });
    },

    reportProgress(principal: Principal, { id, progress, message, workerId }: { id: string; progress: number; message?: string | null; workerId?: string | null }) {
      return timed('reportProgress', principal, async () => {
        assertWorker(principal);
        if (message != null) checkText('message', message);
        return write(principal, id, (task, now) => machine.reportProgress(task, progress, message, workerId, now));
      });
    },

    complete(principal: Principal, { id, result, workerId }: { id: string; result?: unknown; workerId?: string | null }) {
      return timed('complete', principal, async () => {
        assertWorker(principal);
        checkPayload('result', result, limits.maxPayloadBytes);
        return write(principal, id, (task, now) => machine.complete(task, result, workerId, now));
      });
    },

    fail(
      principal: Principal,
      { id, message, code, retry, workerId }: { id: string; message: string; code?: string | null; retry: boolean; workerId?: string | null },
    ) {
      return timed('fail', principal, async () => {
        assertWorker(principal);
        checkText('message', message);
        if (code != null) checkName('code', code);
        const failure = { message, code: code ?? null, details: null };
        return write(principal, id, (task, now) => machine.fail(task, failure, retry, workerId, now));
      });
    },

    /**
     * Appends a chunk to a RUNNING task's output, by the worker holding its lease; returns its
     * seq once committed, and hands the chunk to the task's output listeners. Not a change of
     * the task: no revision bump, no lease extension, no `taskUpdated` event.
     */
    appendOutput(principal: Principal, { id, data, stream, workerId }: { id: string; data: string; stream: string; workerId?: string | null }): Promise<number> {
      return timed('appendOutput', principal, async () => {
        assertOpen();
        assertWorker(principal);
        checkStream(stream);
        if (workerId != null) checkName('workerId', workerId);
        const bytes = checkChunk(data, limits.maxOutputChunkBytes);
        if (!isValidId(id)) throw notFound(id);
        const at = clock();
        const seq = await store.appendOutput(id, { stream, data, at, bytes }, (task) => {
          if (!task || !canSee(principal, task)) throw notFound(id);
          checkAppend(task, workerId, bytes, limits.maxOutputBytesPerTask);
        });
        events.publishOutput(id, seq, { seq, stream, data, at });
        return seq;
      });
    },

    cancel(principal: Principal, { id, reason }: { id: string; reason?: string | null }) {
      return timed('cancel', principal, async () => {
        if (reason != null) checkText('reason', reason);
        return write(principal, id, (task, now) => machine.cancel(task, reason, now));
      });
    },
  };
}

/** ≥ 64 random bits, as the contract asks; 128 here, URL-safe. */
const newTaskId = () => randomBytes(16).toString('base64url');
