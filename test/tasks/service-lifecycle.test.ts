/**
 * The service over time: shutdown, what it tells its observer about each write, its lease
 * timer (ordering, leases granted elsewhere, failures retried), and retention and lease
 * expiry past one batch.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTaskEvents } from '../../src/tasks/events.js';
import { OPEN_PRINCIPAL as me, type Principal } from '../../src/tasks/principal.js';
import { createTaskService, type WriteOperation } from '../../src/tasks/service.js';
import type { Task } from '../../src/tasks/task.js';
import { createEngineTestService, createTestService, describeEngines, LIMITS, refusalCode, runningTask, taskOf, type EngineTestService } from '../helpers/service.js';

const T0 = Date.parse('2026-11-05T10:00:00.000Z');

let ctx: EngineTestService | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  vi.useRealTimers();
  cleanups.splice(0).forEach((cleanup) => cleanup());
  await ctx?.close();
  ctx = undefined;
});

/** Lets pending I/O and callbacks run until `check` passes (setImmediate: fake timers leave it alone). */
async function eventually(check: () => Promise<boolean> | boolean, what: string) {
  const deadline = performance.now() + 5_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`still not ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** What `promise` has settled to once pending callbacks ran, or 'pending'. */
async function settledNow<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => setImmediate(() => resolve('pending'))))]);
}

describeEngines('service lifecycle', (engine) => {
  describe('shutdown', () => {
    it('refuses every write and every new subscription with RESOURCE_EXHAUSTED; reads still answer', async () => {
      ctx = await createEngineTestService(engine);
      const task = await runningTask(ctx.tasks);
      const queued = await ctx.tasks.create(me, { kind: 'later', maxAttempts: 1 });
      ctx.tasks.close();
      const { tasks } = ctx;
      expect(await refusalCode(tasks.create(me, { kind: 'k', maxAttempts: 1 }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.claim(me, { workerId: 'w2', leaseSeconds: 5 }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.heartbeat(me, { id: task.id, workerId: 'w1', leaseSeconds: 5 }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.reportProgress(me, { id: task.id, progress: 5 }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.complete(me, { id: task.id }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.fail(me, { id: task.id, message: 'm', retry: false }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.cancel(me, { id: queued.id }))).toBe('RESOURCE_EXHAUSTED');
      expect(await refusalCode(tasks.follow(me, { id: task.id }))).toBe('RESOURCE_EXHAUSTED');
      expect(await tasks.get(me, task.id)).toEqual(task);
      expect(await tasks.get(me, queued.id)).toEqual(queued);
    });

    it('a long-poll that arrives after shutdown is answered at once with the latest state', async () => {
      ctx = await createEngineTestService(engine);
      const task = await runningTask(ctx.tasks);
      ctx.tasks.close();
      const answer = ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60 }).then(taskOf);
      // Answered after its read (real I/O on PostgreSQL), not held: the 5 s bound only ends a wait that would hold for 60.
      expect(await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('held'), 5_000).unref())])).toEqual(task);
      expect(ctx.tasks.stats().waiters).toBe(0);
    });

    it('ends every open stream: a reader waiting gets the end, one behind gets the latest state first', async () => {
      ctx = await createEngineTestService(engine);
      const task = await runningTask(ctx.tasks);
      const waiting = await ctx.tasks.follow(me, { id: task.id });
      const behind = await ctx.tasks.follow(me, { id: task.id });
      expect((await waiting.next()).value).toEqual(task);
      const next = waiting.next();
      const progressed = await ctx.tasks.reportProgress(me, { id: task.id, progress: 40 });
      expect((await next).value).toEqual(progressed);
      const end = waiting.next();
      ctx.tasks.close();
      expect(await settledNow(end)).toEqual({ done: true, value: undefined });
      expect(await behind.next()).toEqual({ done: false, value: progressed });
      expect(await behind.next()).toEqual({ done: true, value: undefined });
      expect(ctx.tasks.stats().subscriptions).toBe(0);
      expect(ctx.events.listenerCount()).toBe(0);
    });
  });

  describe('retention', () => {
    it('keeps a finished task until the retention period has passed since it finished', async () => {
      let now = T0;
      ctx = await createEngineTestService(engine, { clock: () => new Date(now), limits: { retentionHours: 1 } });
      const task = await ctx.tasks.create(me, { kind: 'k', maxAttempts: 1 });
      await ctx.tasks.cancel(me, { id: task.id });
      now += 59 * 60_000;
      await ctx.tasks.purgeExpired();
      expect(await ctx.tasks.get(me, task.id)).not.toBeNull();
      now += 2 * 60_000;
      await ctx.tasks.purgeExpired();
      expect(await ctx.tasks.get(me, task.id)).toBeNull();
    });

    it('deletes every finished task past the period in one run, however many (more than one batch)', async () => {
      let now = T0;
      ctx = await createEngineTestService(engine, { clock: () => new Date(now), limits: { retentionHours: 1 } });
      const count = 1_001;
      const created = await Promise.all(Array.from({ length: count }, () => ctx!.tasks.create(me, { kind: 'k', maxAttempts: 1 })));
      await Promise.all(created.map((task) => ctx!.tasks.cancel(me, { id: task.id })));
      const kept = await ctx.tasks.create(me, { kind: 'k', maxAttempts: 1 });
      now += 2 * 3_600_000;
      await ctx.tasks.purgeExpired();
      expect(await ctx.store.countByStatus()).toMatchObject({ CANCELLED: 0, QUEUED: 1 });
      expect(await ctx.tasks.get(me, kept.id)).not.toBeNull();
    });
  });

  describe('leases', () => {
    it('expires every lease that ran out in one run, however many (more than one batch)', async () => {
      let now = T0;
      ctx = await createEngineTestService(engine, { clock: () => new Date(now) });
      const count = 501;
      await Promise.all(Array.from({ length: count }, () => ctx!.tasks.create(me, { kind: 'k', maxAttempts: 2 })));
      await Promise.all(Array.from({ length: count }, () => ctx!.tasks.claim(me, { workerId: 'w', leaseSeconds: 10 })));
      expect(await ctx.store.countByStatus()).toMatchObject({ RUNNING: count });
      now += 10_001;
      await ctx.tasks.expireLeases();
      expect(await ctx.store.countByStatus()).toMatchObject({ RUNNING: 0, QUEUED: count });
    });

    it('the timer moves earlier for a shorter lease granted later, and still expires the longer one at its time', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
      ctx = await createEngineTestService(engine);
      const long = await runningTask(ctx.tasks, { kind: 'long', leaseSeconds: 10 });
      const short = await runningTask(ctx.tasks, { kind: 'short', leaseSeconds: 5 });
      const statusOf = async (task: Task) => (await ctx!.tasks.get(me, task.id))?.status;
      await vi.advanceTimersByTimeAsync(4_999);
      expect(await statusOf(short)).toBe('RUNNING');
      await vi.advanceTimersByTimeAsync(1);
      await eventually(async () => (await statusOf(short)) === 'FAILED', 'expired at 5 s');
      expect(await statusOf(long)).toBe('RUNNING');
      await vi.advanceTimersByTimeAsync(4_999);
      expect(await statusOf(long)).toBe('RUNNING');
      await vi.advanceTimersByTimeAsync(1);
      // On PostgreSQL the timer is set again only once its read of the next lease returns, which
      // may be after the clock moved: due by then, it fires on the clock's next turn.
      await eventually(async () => {
        await vi.advanceTimersByTimeAsync(0);
        return (await statusOf(long)) === 'FAILED';
      }, 'expired at 10 s');
    });

    it('after shutdown no lease is expired, even one noted after it', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
      ctx = await createEngineTestService(engine);
      const task = await runningTask(ctx.tasks, { kind: 'k', leaseSeconds: 5 });
      ctx.tasks.close();
      // Earlier than the timer was set for when it stopped, as another instance's lease may be.
      ctx.tasks.noteLeaseExpiry(task.leaseExpiresAt!.getTime() - 1);
      await vi.advanceTimersByTimeAsync(10_000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(await ctx.tasks.get(me, task.id)).toEqual(task);
    });

    it('a lease granted by another instance is expired at the time it was noted, by this one', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
      ctx = await createEngineTestService(engine);
      const other = createTaskService({ store: ctx.store, events: createTaskEvents(), limits: LIMITS });
      await other.create(me, { kind: 'k', maxAttempts: 1 });
      const claimed = (await other.claim(me, { workerId: 'w', leaseSeconds: 5 }))!;
      other.close();
      ctx.tasks.noteLeaseExpiry(claimed.leaseExpiresAt!.getTime());
      await vi.advanceTimersByTimeAsync(4_999);
      expect((await ctx.tasks.get(me, claimed.id))?.status).toBe('RUNNING');
      await vi.advanceTimersByTimeAsync(1);
      // Published once committed: on PostgreSQL another connection may read the row a moment before.
      await eventually(() => ctx!.published.some((task) => task.id === claimed.id && task.status === 'FAILED'), 'expired by this instance');
      expect(ctx.published.at(-1)).toMatchObject({ id: claimed.id, status: 'FAILED', error: { code: 'LEASE_EXPIRED' } });
      expect((await ctx.tasks.get(me, claimed.id))?.status).toBe('FAILED');
    });
  });
});

describe('failures in the background (SQLite)', () => {
  /** A second service over the test service's store, whose background errors are collected. */
  function observedService(test: ReturnType<typeof createTestService>) {
    const errors: string[] = [];
    const tasks = createTaskService({ store: test.store, events: test.events, limits: LIMITS, onError: (_error, context) => errors.push(context) });
    tasks.start();
    cleanups.push(() => tasks.close());
    return { tasks, errors };
  }

  it('nothing runs until start(): no timer, no read of the store, not even for a lease granted before; start() twice starts it once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
    const test = createTestService();
    ctx = test;
    const reads: string[] = [];
    const store = { ...test.store, nextLeaseExpiry: () => (reads.push('nextLeaseExpiry'), test.store.nextLeaseExpiry()) };
    const timersBefore = vi.getTimerCount();
    const tasks = createTaskService({ store, events: test.events, limits: LIMITS });
    cleanups.push(() => tasks.close());
    await tasks.create(me, { kind: 'k', maxAttempts: 1 });
    const claimed = (await tasks.claim(me, { workerId: 'w', leaseSeconds: 5 }))!;
    await vi.advanceTimersByTimeAsync(0);
    expect([vi.getTimerCount() - timersBefore, reads]).toEqual([0, []]);
    tasks.start();
    tasks.start();
    await vi.advanceTimersByTimeAsync(0);
    // The housekeeping interval and the lease timer, set for the lease noted before start().
    expect([vi.getTimerCount() - timersBefore, reads]).toEqual([2, ['nextLeaseExpiry']]);
    await vi.advanceTimersByTimeAsync(5_000);
    await eventually(async () => (await tasks.get(me, claimed.id))?.status === 'FAILED', 'expired at 5 s');
    tasks.close();
    expect(vi.getTimerCount() - timersBefore).toBe(0);
  });

  it('a lease expiry that fails is reported and tried again a second later, not in a loop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 });
    const test = createTestService();
    ctx = test;
    const { tasks, errors } = observedService(test);
    await tasks.create(me, { kind: 'k', maxAttempts: 1 });
    await tasks.claim(me, { workerId: 'w', leaseSeconds: 5 });
    test.database.close();
    await vi.advanceTimersByTimeAsync(5_000);
    await eventually(() => errors.length === 1, 'reported');
    expect(errors).toEqual(['lease expiry']);
    await vi.advanceTimersByTimeAsync(999);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await eventually(() => errors.length === 2, 'tried again');
    expect(errors).toEqual(['lease expiry', 'lease expiry']);
  });

  it('a retention run that fails is reported, with what it was doing, and does not escape', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: T0 });
    const test = createTestService();
    ctx = test;
    const { errors } = observedService(test);
    test.database.close();
    test.tasks.close();
    await vi.advanceTimersByTimeAsync(60_000);
    await eventually(() => errors.includes('retention'), 'reported');
  });
});

describe('what the observer hears of each write (SQLite)', () => {
  function observed() {
    const test = createTestService();
    ctx = test;
    const heard: { operation: WriteOperation; seconds: number; outcome: string }[] = [];
    const tasks = createTaskService({
      store: test.store,
      events: test.events,
      limits: LIMITS,
      observer: { wrote: (operation, seconds, outcome) => heard.push({ operation, seconds, outcome }) },
    });
    cleanups.push(() => tasks.close());
    return { test, tasks, heard };
  }

  it('each write, by name, with "ok" and how long it took in seconds', async () => {
    const { tasks, heard } = observed();
    const started = performance.now();
    const task = await tasks.create(me, { kind: 'k', maxAttempts: 2 });
    await tasks.claim(me, { workerId: 'w', leaseSeconds: 30 });
    await tasks.heartbeat(me, { id: task.id, workerId: 'w', leaseSeconds: 30 });
    await tasks.reportProgress(me, { id: task.id, progress: 10 });
    await tasks.fail(me, { id: task.id, message: 'again', retry: true });
    await tasks.claim(me, { workerId: 'w', leaseSeconds: 30 });
    await tasks.complete(me, { id: task.id });
    await tasks.cancel(me, { id: task.id });
    expect(await tasks.claim(me, { workerId: 'w', leaseSeconds: 30 })).toBeNull();
    const elapsed = (performance.now() - started) / 1000;
    expect(heard.map(({ operation, outcome }) => [operation, outcome])).toEqual([
      ['create', 'ok'],
      ['claim', 'ok'],
      ['heartbeat', 'ok'],
      ['reportProgress', 'ok'],
      ['fail', 'ok'],
      ['claim', 'ok'],
      ['complete', 'ok'],
      ['cancel', 'ok'],
      ['claim', 'ok'],
    ]);
    for (const { seconds } of heard) {
      expect(seconds).toBeGreaterThanOrEqual(0);
      expect(seconds).toBeLessThanOrEqual(elapsed);
    }
  });

  it('a refused write with its code; an unexpected failure as "error"', async () => {
    const { test, tasks, heard } = observed();
    const task = await tasks.create(me, { kind: 'k', maxAttempts: 1 });
    const client: Principal = { tenant: me.tenant, role: 'client' };
    await refusalCode(tasks.reportProgress(me, { id: task.id, progress: 500 }));
    await refusalCode(tasks.complete(me, { id: 'missing' }));
    await refusalCode(tasks.complete(me, { id: task.id }));
    await refusalCode(tasks.fail(me, { id: task.id, message: 'm', retry: false, workerId: 'w9' }));
    await refusalCode(tasks.heartbeat(client, { id: task.id, workerId: 'w', leaseSeconds: 5 }));
    test.database.close();
    await expect(tasks.cancel(me, { id: task.id })).rejects.not.toHaveProperty('code');
    tasks.close();
    await refusalCode(tasks.create(me, { kind: 'k', maxAttempts: 1 }));
    expect(heard.slice(1).map(({ operation, outcome }) => [operation, outcome])).toEqual([
      ['reportProgress', 'BAD_USER_INPUT'],
      ['complete', 'NOT_FOUND'],
      ['complete', 'INVALID_TRANSITION'],
      ['fail', 'LEASE_MISMATCH'],
      ['heartbeat', 'FORBIDDEN'],
      ['cancel', 'error'],
      ['create', 'RESOURCE_EXHAUSTED'],
    ]);
  });
});
