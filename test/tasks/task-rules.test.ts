/**
 * The state machine's rules that task.test.ts leaves out: the bounds of every value, what each
 * transition clears, and which error a refused write gets (each with a message that says why).
 */
import { describe, expect, it } from 'vitest';
import * as machine from '../../src/tasks/task.js';
import type { Task, TaskFailure } from '../../src/tasks/task.js';

const t0 = new Date('2026-11-05T10:00:00.000Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const queued = (maxAttempts = 3): Task =>
  machine.createTask({ id: 'a', tenant: 't', kind: 'report', input: { x: 1 }, idempotencyKey: 'k', maxAttempts }, t0);
const running = (maxAttempts = 3) => machine.claim(queued(maxAttempts), 'w1', 30, later(1));
const failure: TaskFailure = { message: 'disk full', code: 'E_DISK', details: null };

/** The code of the refusal `work` throws; a refusal must say why, so its message is checked too. */
function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    expect(message, `the ${code} refusal says why`).toMatch(/\S/);
    return code ?? 'no code';
  }
  return 'no error';
}

describe('createTask', () => {
  it('starts with nothing but what was asked: no worker, lease, progress message, result or error', () => {
    expect(queued()).toEqual({
      id: 'a',
      seq: 0,
      tenant: 't',
      kind: 'report',
      tags: [],
      status: 'QUEUED',
      progress: 0,
      message: null,
      input: { x: 1 },
      result: null,
      error: null,
      attempts: 0,
      maxAttempts: 3,
      revision: 1,
      idempotencyKey: 'k',
      workerId: null,
      leaseSeconds: null,
      leaseExpiresAt: null,
      createdAt: t0,
      updatedAt: t0,
      startedAt: null,
      completedAt: null,
      outputSeq: 0,
      outputBytes: 0,
    });
  });

  it('takes maxAttempts from 1 to MAX_ATTEMPTS, and refuses a fraction, NaN, 0 and one more with BAD_USER_INPUT', () => {
    expect(queued(1).maxAttempts).toBe(1);
    expect(queued(machine.MAX_ATTEMPTS).maxAttempts).toBe(machine.MAX_ATTEMPTS);
    expect(refusal(() => queued(machine.MAX_ATTEMPTS + 1))).toBe('BAD_USER_INPUT');
    for (const bad of [1.5, Number.NaN, 0]) expect(refusal(() => queued(bad)), `maxAttempts ${bad}`).toBe('BAD_USER_INPUT');
    expect(refusal(() => machine.createTask({ ...queued(), kind: '' }, t0))).toBe('BAD_USER_INPUT');
  });
});

describe('lease length', () => {
  it('is a positive integer of seconds: 1 is taken; 0, a fraction and NaN are BAD_USER_INPUT', () => {
    expect(machine.checkLeaseSeconds(1)).toBe(1);
    for (const bad of [0, -1, 0.5, 1.5, Number.NaN]) expect(refusal(() => machine.checkLeaseSeconds(bad)), `lease ${bad}`).toBe('BAD_USER_INPUT');
  });

  it('a claim grants it from the claim time, and records its length', () => {
    expect(machine.claim(queued(), 'w1', 45, later(10))).toMatchObject({ leaseSeconds: 45, leaseExpiresAt: later(55), updatedAt: later(10) });
  });

  it('a heartbeat grants the new length from now', () => {
    expect(machine.heartbeat(running(), 'w1', 5, later(20))).toMatchObject({ leaseSeconds: 5, leaseExpiresAt: later(25), status: 'RUNNING' });
  });
});

describe('worker writes', () => {
  it('a heartbeat for a task not claimed yet is refused: the worker holds no lease on it', () => {
    expect(refusal(() => machine.heartbeat(queued(), 'w1', 30, t0))).toBe('LEASE_MISMATCH');
  });

  it('progress without a workerId is taken from whoever may write (an admin), and leaves the worker in place', () => {
    expect(machine.reportProgress(running(), 20, null, null, later(2))).toMatchObject({ progress: 20, workerId: 'w1', revision: 3 });
  });

  it('progress takes 0 and 100 and nothing outside', () => {
    expect(machine.reportProgress(running(), 0, null, 'w1', later(2)).progress).toBe(0);
    expect(machine.reportProgress(running(), 100, null, 'w1', later(2))).toMatchObject({ progress: 100, status: 'RUNNING' });
    expect(refusal(() => machine.reportProgress(running(), 100.5, null, 'w1', later(2)))).toBe('BAD_USER_INPUT');
  });

  it('progress without a message keeps the latest one; a null message clears it', () => {
    const reading = machine.reportProgress(running(), 10, 'reading', 'w1', later(2));
    expect(machine.reportProgress(reading, 20, undefined, 'w1', later(3))).toMatchObject({ progress: 20, message: 'reading' });
    expect(machine.reportProgress(reading, 30, null, 'w1', later(3))).toMatchObject({ progress: 30, message: null });
    expect(machine.reportProgress(reading, 40, 'writing', 'w1', later(3)).message).toBe('writing');
  });

  it('a final task refuses every worker write with INVALID_TRANSITION, whoever the worker', () => {
    for (const done of [
      machine.complete(running(), 1, 'w1', later(2)),
      machine.fail(running(), failure, false, 'w1', later(2)),
      machine.cancel(running(), null, later(2)),
    ]) {
      expect(refusal(() => machine.heartbeat(done, 'w1', 30, later(3))), `heartbeat on ${done.status}`).toBe('INVALID_TRANSITION');
      expect(refusal(() => machine.reportProgress(done, 5, null, 'w2', later(3))), `progress on ${done.status}`).toBe('INVALID_TRANSITION');
      expect(refusal(() => machine.complete(done, 1, 'w2', later(3))), `complete on ${done.status}`).toBe('INVALID_TRANSITION');
      expect(refusal(() => machine.fail(done, failure, true, null, later(3))), `fail on ${done.status}`).toBe('INVALID_TRANSITION');
    }
  });

  it('a queued task refuses fail with INVALID_TRANSITION, or LEASE_MISMATCH when a worker is named', () => {
    expect(refusal(() => machine.fail(queued(), failure, false, null, t0))).toBe('INVALID_TRANSITION');
    expect(refusal(() => machine.fail(queued(), failure, false, 'w1', t0))).toBe('LEASE_MISMATCH');
    expect(refusal(() => machine.reportProgress(running(), 5, null, 'w2', t0))).toBe('LEASE_MISMATCH');
  });
});

describe('completion', () => {
  it('an absent result is stored as null', () => {
    expect(machine.complete(running(), undefined, 'w1', later(2)).result).toBeNull();
  });

  it('a completion after a failed attempt clears the failure', () => {
    const retried = machine.claim(machine.fail(running(), failure, true, 'w1', later(2)), 'w2', 30, later(3));
    expect(retried.error).toEqual(failure);
    expect(machine.complete(retried, 'ok', 'w2', later(4))).toMatchObject({ status: 'COMPLETED', error: null, result: 'ok', revision: 5 });
  });
});

describe('failure', () => {
  it('without retry is final even while attempts remain: FAILED with the failure, the lease and worker released', () => {
    const failed = machine.fail(running(3), failure, false, 'w1', later(2));
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: failure,
      attempts: 1,
      workerId: null,
      leaseExpiresAt: null,
      completedAt: later(2),
      updatedAt: later(2),
      revision: 3,
    });
    expect(machine.isFinal(failed.status)).toBe(true);
  });

  it('with retry and attempts left goes back to QUEUED: no worker, no lease, not completed, claimable again', () => {
    const requeued = machine.fail(running(3), failure, true, 'w1', later(2));
    expect(requeued).toMatchObject({ status: 'QUEUED', error: failure, workerId: null, leaseExpiresAt: null, completedAt: null, updatedAt: later(2) });
    expect(machine.claim(requeued, 'w2', 30, later(3))).toMatchObject({ status: 'RUNNING', attempts: 2, workerId: 'w2' });
  });

  it('with retry on the last attempt is FAILED', () => {
    expect(machine.fail(running(1), failure, true, 'w1', later(2))).toMatchObject({ status: 'FAILED', completedAt: later(2), workerId: null });
  });
});

describe('cancel', () => {
  it('of a running task releases the worker and the lease, and bumps the revision', () => {
    expect(machine.cancel(running(), 'user asked', later(2))).toMatchObject({
      status: 'CANCELLED',
      workerId: null,
      leaseExpiresAt: null,
      completedAt: later(2),
      updatedAt: later(2),
      revision: 3,
      error: { message: 'user asked', code: 'CANCELLED', details: null },
    });
  });

  it('without a reason still says why in the error', () => {
    for (const reason of [null, undefined]) {
      const error = machine.cancel(queued(), reason, later(2)).error;
      expect(error).toMatchObject({ code: 'CANCELLED', details: null });
      expect(error?.message).toMatch(/\S/);
    }
  });
});

describe('lease expiry', () => {
  it('leaves a task that is not RUNNING as it is', () => {
    const waiting = queued();
    expect(machine.expireLease(waiting, later(100))).toBe(waiting);
    const done = machine.complete(running(), null, 'w1', later(2));
    expect(machine.expireLease(done, later(100))).toBe(done);
  });

  it('requeues with a LEASE_EXPIRED error that says which worker stopped, and counts as a change', () => {
    const requeued = machine.expireLease(running(2), later(40));
    expect(requeued).toMatchObject({ status: 'QUEUED', leaseExpiresAt: null, completedAt: null, revision: 3, updatedAt: later(40) });
    expect(requeued.error?.message).toContain('w1');
    const failed = machine.expireLease(running(1), later(40));
    expect(failed).toMatchObject({ status: 'FAILED', workerId: null, leaseExpiresAt: null, completedAt: later(40), revision: 3 });
    expect(failed.error?.message).toContain('w1');
  });
});
