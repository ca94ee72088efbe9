import { describe, expect, it } from 'vitest';
import * as machine from '../../src/tasks/task.js';
import type { Task } from '../../src/tasks/task.js';

const t0 = new Date('2026-11-05T10:00:00.000Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const queued = (maxAttempts = 3): Task =>
  machine.createTask({ id: 'a', tenant: 't', kind: 'report', input: { x: 1 }, idempotencyKey: null, maxAttempts }, t0);

const running = (maxAttempts = 3) => machine.claim(queued(maxAttempts), 'w1', 30, later(1));

const codeOf = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
};

describe('task state machine', () => {
  it('creates a queued task at revision 1', () => {
    expect(queued()).toMatchObject({ status: 'QUEUED', progress: 0, attempts: 0, revision: 1, createdAt: t0, updatedAt: t0 });
  });

  it('refuses an empty kind and a maxAttempts below 1', () => {
    expect(codeOf(() => machine.createTask({ ...queued(), kind: ' ' }, t0))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => queued(0))).toBe('BAD_USER_INPUT');
  });

  it('claims: RUNNING, attempts +1, lease set, revision +1', () => {
    expect(running()).toMatchObject({
      status: 'RUNNING',
      attempts: 1,
      revision: 2,
      workerId: 'w1',
      startedAt: later(1),
      leaseExpiresAt: later(31),
    });
    expect(codeOf(() => machine.claim(running(), 'w2', 30, later(2)))).toBe('INVALID_TRANSITION');
  });

  it('heartbeat extends the lease without a revision bump', () => {
    const task = machine.heartbeat(running(), 'w1', 60, later(10));
    expect(task).toMatchObject({ revision: 2, updatedAt: later(1), leaseExpiresAt: later(70) });
  });

  it('progress is 0..100, bumps the revision and extends the lease by the granted length', () => {
    const task = machine.reportProgress(running(), 40, 'reading', 'w1', later(5));
    expect(task).toMatchObject({ progress: 40, message: 'reading', revision: 3, leaseExpiresAt: later(35) });
    for (const bad of [-1, 101, 1.5, Number.NaN]) {
      expect(codeOf(() => machine.reportProgress(running(), bad, null, 'w1', later(5)))).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses worker writes to a queued task, and from a worker without the lease', () => {
    expect(codeOf(() => machine.reportProgress(queued(), 10, null, null, t0))).toBe('INVALID_TRANSITION');
    expect(codeOf(() => machine.complete(queued(), null, null, t0))).toBe('INVALID_TRANSITION');
    expect(codeOf(() => machine.complete(queued(), null, 'w1', t0))).toBe('LEASE_MISMATCH');
    expect(codeOf(() => machine.complete(running(), null, 'w2', t0))).toBe('LEASE_MISMATCH');
    expect(codeOf(() => machine.heartbeat(running(), 'w2', 30, t0))).toBe('LEASE_MISMATCH');
  });

  it('completes with progress 100 and a result, and a final state never changes', () => {
    const done = machine.complete(running(), { url: 'x' }, 'w1', later(9));
    expect(done).toMatchObject({ status: 'COMPLETED', progress: 100, result: { url: 'x' }, completedAt: later(9), workerId: null, leaseExpiresAt: null });
    expect(codeOf(() => machine.complete(done, null, 'w1', later(10)))).toBe('INVALID_TRANSITION');
    expect(codeOf(() => machine.reportProgress(done, 5, null, null, later(10)))).toBe('INVALID_TRANSITION');
    expect(codeOf(() => machine.fail(done, { message: 'x', code: null, details: null }, false, null, later(10)))).toBe('INVALID_TRANSITION');
    expect(machine.cancel(done, 'late', later(10))).toBe(done);
  });

  it('fail with retry requeues while attempts remain, then fails for good', () => {
    const failure = { message: 'boom', code: 'E1', details: null };
    const requeued = machine.fail(running(2), failure, true, 'w1', later(3));
    expect(requeued).toMatchObject({ status: 'QUEUED', error: failure, workerId: null, attempts: 1, revision: 3 });
    const second = machine.claim(requeued, 'w2', 30, later(4));
    expect(machine.fail(second, failure, true, 'w2', later(5))).toMatchObject({ status: 'FAILED', completedAt: later(5), attempts: 2 });
  });

  it('cancels queued and running tasks with the reason as the error', () => {
    expect(machine.cancel(queued(), 'not needed', later(2))).toMatchObject({
      status: 'CANCELLED',
      error: { message: 'not needed', code: 'CANCELLED' },
      completedAt: later(2),
    });
    expect(machine.cancel(running(), null, later(2)).status).toBe('CANCELLED');
  });

  it('an expired lease requeues while attempts remain, else fails with LEASE_EXPIRED', () => {
    expect(machine.expireLease(running(2), later(40))).toMatchObject({ status: 'QUEUED', workerId: null, error: { code: 'LEASE_EXPIRED' } });
    expect(machine.expireLease(running(1), later(40))).toMatchObject({ status: 'FAILED', error: { code: 'LEASE_EXPIRED' } });
  });
});
