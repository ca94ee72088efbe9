/**
 * The contract's rules for writes, tenants, roles, idempotency, retention and waits, on the
 * real service over each engine's real store (SQLite `:memory:` and a fresh PostgreSQL database).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/tasks/principal.js';
import type { TaskStore } from '../../src/tasks/store.js';
import type { Task } from '../../src/tasks/task.js';
import { createEngineTestService, describeEngines, refusalCode, runningTask as createRunningTask, taskOf, type EngineTestService, type ServiceOptions, until, untilHeld } from '../helpers/service.js';

const alice: Principal = { tenant: 'alice', role: 'worker' };
const aliceClient: Principal = { tenant: 'alice', role: 'client' };
const bob: Principal = { tenant: 'bob', role: 'worker' };
const admin: Principal = { tenant: 'ops', role: 'admin' };

let ctx: EngineTestService;

afterEach(async () => {
  vi.useRealTimers();
  const current = ctx;
  ctx = undefined!;
  await current?.close();
});

/**
 * Counts every call the service makes on its store, passing each through to the real one:
 * the service holds the store object and calls its methods by name, so replacing them on that
 * object puts the counter between the service and the real store.
 */
function countStoreCalls(store: TaskStore): { calls: Record<string, number>; reset(): void } {
  const calls: Record<string, number> = {};
  const methods = store as unknown as Record<string, unknown>;
  for (const [name, method] of Object.entries(methods)) {
    if (typeof method !== 'function') continue;
    methods[name] = (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return (method as (...args: unknown[]) => unknown)(...args);
    };
  }
  return {
    calls,
    reset() {
      for (const name of Object.keys(calls)) delete calls[name];
    },
  };
}

describeEngines('contract rules', (engine) => {
  const start = async (options: ServiceOptions = {}) => {
    ctx = await createEngineTestService(engine, options);
    return ctx;
  };

  /** Alice's, claimed by w1, with attempts left: a refused `failTask` with retry is not about running out. */
  const runningTask = () => createRunningTask(ctx.tasks, { principal: alice, maxAttempts: 3 });

  /** Each refused call changes nothing and publishes nothing. */
  async function expectUnchanged(owner: Principal, before: Task, published: number) {
    expect(await ctx.tasks.get(owner, before.id)).toEqual(before);
    expect(ctx.published.length).toBe(published);
  }

  describe('failTask', () => {
    it('NOT_FOUND for an unknown or malformed id', async () => {
      await start();
      for (const id of ['no-such-task', '', 'x'.repeat(300), 'bad\u0000id']) {
        expect(await refusalCode(ctx.tasks.fail(alice, { id, message: 'boom', retry: false }))).toBe('NOT_FOUND');
        expect(await refusalCode(ctx.tasks.fail(alice, { id, message: 'boom', retry: false, workerId: 'w1' }))).toBe('NOT_FOUND');
      }
      expect(ctx.published).toEqual([]);
    });

    it('LEASE_MISMATCH for a worker that does not hold the lease, with or without retry', async () => {
      await start();
      const task = await runningTask();
      const published = ctx.published.length;
      for (const retry of [false, true]) {
        expect(await refusalCode(ctx.tasks.fail(alice, { id: task.id, message: 'not mine', retry, workerId: 'w2' }))).toBe('LEASE_MISMATCH');
      }
      await expectUnchanged(alice, task, published);
      // The holder may: the refusals above left the lease where it was.
      expect(await ctx.tasks.fail(alice, { id: task.id, message: 'mine', retry: false, workerId: 'w1' })).toMatchObject({
        status: 'FAILED',
        error: { message: 'mine' },
        revision: task.revision + 1,
      });
    });

    it('INVALID_TRANSITION on a queued task', async () => {
      await start();
      const queued = await ctx.tasks.create(alice, { kind: 'q', maxAttempts: 3 });
      const published = ctx.published.length;
      for (const retry of [false, true]) {
        expect(await refusalCode(ctx.tasks.fail(alice, { id: queued.id, message: 'too early', retry }))).toBe('INVALID_TRANSITION');
      }
      await expectUnchanged(alice, queued, published);
    });

    it('INVALID_TRANSITION on a final task, whoever asks and however', async () => {
      await start();
      const completed = await runningTask();
      await ctx.tasks.complete(alice, { id: completed.id, result: 'ok', workerId: 'w1' });
      const failed = await runningTask();
      await ctx.tasks.fail(alice, { id: failed.id, message: 'first', retry: false, workerId: 'w1' });
      const cancelled = await runningTask();
      await ctx.tasks.cancel(alice, { id: cancelled.id });
      for (const id of [completed.id, failed.id, cancelled.id]) {
        const before = (await ctx.tasks.get(alice, id))!;
        const published = ctx.published.length;
        for (const workerId of [undefined, 'w1', 'w9']) {
          for (const retry of [false, true]) {
            expect(await refusalCode(ctx.tasks.fail(alice, { id, message: 'again', retry, workerId }))).toBe('INVALID_TRANSITION');
          }
        }
        await expectUnchanged(alice, before, published);
      }
    });
  });

  it('NOT_FOUND, by code, for heartbeat, reportProgress and failTask on an unknown id', async () => {
    await start();
    await runningTask();
    const id = 'no-such-task-0123456789';
    expect(await refusalCode(ctx.tasks.heartbeat(alice, { id, workerId: 'w1', leaseSeconds: 30 }))).toBe('NOT_FOUND');
    expect(await refusalCode(ctx.tasks.reportProgress(alice, { id, progress: 10 }))).toBe('NOT_FOUND');
    expect(await refusalCode(ctx.tasks.reportProgress(alice, { id, progress: 10, workerId: 'w1' }))).toBe('NOT_FOUND');
    expect(await refusalCode(ctx.tasks.fail(alice, { id, message: 'x', retry: true, workerId: 'w1' }))).toBe('NOT_FOUND');
    expect(await refusalCode(ctx.tasks.fail(alice, { id, message: 'x', retry: false }))).toBe('NOT_FOUND');
  });

  describe('tenants', () => {
    it("failTask on another tenant's task is NOT_FOUND, as for an unknown id, and changes nothing", async () => {
      await start();
      const task = await runningTask();
      const published = ctx.published.length;
      for (const workerId of [undefined, 'w1']) {
        for (const retry of [false, true]) {
          expect(await refusalCode(ctx.tasks.fail(bob, { id: task.id, message: 'not yours', retry, workerId }))).toBe('NOT_FOUND');
        }
      }
      await expectUnchanged(alice, task, published);
    });

    it("an idempotencyKey another tenant used makes a separate task; the first is neither returned nor changed", async () => {
      await start();
      const mine = await ctx.tasks.create(alice, { kind: 'alice.report', input: { secret: 'alice' }, idempotencyKey: 'order-42', maxAttempts: 1 });
      const theirs = await ctx.tasks.create(bob, { kind: 'bob.export', input: { mine: 'bob' }, idempotencyKey: 'order-42', maxAttempts: 2 });
      expect(theirs.id).not.toBe(mine.id);
      expect(theirs).toMatchObject({ tenant: 'bob', kind: 'bob.export', input: { mine: 'bob' }, maxAttempts: 2, revision: 1 });
      expect(JSON.stringify(theirs)).not.toContain('alice');
      // The key now names bob's task for bob, and still alice's for alice.
      expect((await ctx.tasks.create(bob, { kind: 'other', idempotencyKey: 'order-42', maxAttempts: 1 })).id).toBe(theirs.id);
      expect((await ctx.tasks.create(alice, { kind: 'other', idempotencyKey: 'order-42', maxAttempts: 1 })).id).toBe(mine.id);
      expect((await ctx.tasks.list(alice, { first: 10 })).tasks.map((task) => task.id)).toEqual([mine.id]);
      expect((await ctx.tasks.list(bob, { first: 10 })).tasks.map((task) => task.id)).toEqual([theirs.id]);
      expect(await ctx.tasks.get(alice, mine.id)).toEqual(mine);
      expect(await ctx.tasks.get(bob, mine.id)).toBeNull();
    });

    it('an admin key lists every tenant’s tasks, newest first, with filters and pages; others list their own', async () => {
      await start();
      const a1 = await ctx.tasks.create(alice, { kind: 'report', maxAttempts: 1 });
      const b1 = await ctx.tasks.create(bob, { kind: 'report', maxAttempts: 1 });
      const a2 = await ctx.tasks.create(alice, { kind: 'import', maxAttempts: 1 });
      const o1 = await ctx.tasks.create(admin, { kind: 'report', maxAttempts: 1 });
      await ctx.tasks.cancel(bob, { id: b1.id });
      const ids = async (principal: Principal, filter: { status?: Task['status']; kind?: string } = {}) =>
        (await ctx.tasks.list(principal, { first: 10, ...filter })).tasks.map((task) => task.id);

      expect(await ids(admin)).toEqual([o1.id, a2.id, b1.id, a1.id]);
      expect(await ids(admin, { kind: 'report' })).toEqual([o1.id, b1.id, a1.id]);
      expect(await ids(admin, { status: 'CANCELLED' })).toEqual([b1.id]);
      const page1 = await ctx.tasks.list(admin, { first: 2 });
      expect(page1.tasks.map((task) => task.id)).toEqual([o1.id, a2.id]);
      expect(page1.hasNextPage).toBe(true);
      const page2 = await ctx.tasks.list(admin, { first: 2, after: page1.cursorOf(page1.tasks[1]!) });
      expect(page2.tasks.map((task) => task.id)).toEqual([b1.id, a1.id]);
      expect(page2.hasNextPage).toBe(false);

      expect(await ids(alice)).toEqual([a2.id, a1.id]);
      expect(await ids(aliceClient)).toEqual([a2.id, a1.id]);
      expect(await ids(bob)).toEqual([b1.id]);
    });
  });

  describe('roles', () => {
    it('a client may cancel its tenant’s queued and running tasks', async () => {
      await start();
      const queued = await ctx.tasks.create(aliceClient, { kind: 'q', maxAttempts: 1 });
      const running = await runningTask();
      expect(await ctx.tasks.cancel(aliceClient, { id: queued.id, reason: 'changed my mind' })).toMatchObject({
        status: 'CANCELLED',
        error: { message: 'changed my mind', code: 'CANCELLED' },
      });
      expect(await ctx.tasks.cancel(aliceClient, { id: running.id })).toMatchObject({ status: 'CANCELLED', revision: running.revision + 1 });
    });

    it('FORBIDDEN for a client’s claimTask, heartbeat, reportProgress, completeTask and failTask; nothing changes', async () => {
      await start();
      const task = await runningTask();
      const queued = await ctx.tasks.create(alice, { kind: 'q', maxAttempts: 1 });
      const published = ctx.published.length;
      expect(await refusalCode(ctx.tasks.claim(aliceClient, { workerId: 'w1', leaseSeconds: 30 }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.heartbeat(aliceClient, { id: task.id, workerId: 'w1', leaseSeconds: 600 }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.reportProgress(aliceClient, { id: task.id, progress: 50, workerId: 'w1' }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.reportProgress(aliceClient, { id: task.id, progress: 50 }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.complete(aliceClient, { id: task.id, result: 'forged', workerId: 'w1' }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.complete(aliceClient, { id: task.id, result: 'forged' }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.fail(aliceClient, { id: task.id, message: 'forged', retry: false, workerId: 'w1' }))).toBe('FORBIDDEN');
      expect(await refusalCode(ctx.tasks.fail(aliceClient, { id: task.id, message: 'forged', retry: true }))).toBe('FORBIDDEN');
      await expectUnchanged(alice, task, published);
      await expectUnchanged(alice, queued, published);
    });
  });

  describe('idempotency', () => {
    it('two concurrent createTask calls with the same idempotencyKey make one task', async () => {
      await start();
      const [first, second] = await Promise.all([
        ctx.tasks.create(alice, { kind: 'import', input: { n: 1 }, idempotencyKey: 'same', maxAttempts: 1 }),
        ctx.tasks.create(alice, { kind: 'import', input: { n: 2 }, idempotencyKey: 'same', maxAttempts: 1 }),
      ]);
      expect(second.id).toBe(first.id);
      expect(second).toEqual(first);
      const page = await ctx.tasks.list(alice, { first: 10 });
      expect(page.tasks.map((task) => task.id)).toEqual([first.id]);
      expect(await ctx.store.countByStatus()).toMatchObject({ QUEUED: 1 });
    });

    it('many concurrent calls, some started while others are in flight: one task per key', async () => {
      await start();
      const calls: Promise<Task>[] = [];
      for (let i = 0; i < 10; i++) {
        calls.push(ctx.tasks.create(alice, { kind: 'import', input: { i }, idempotencyKey: `key-${i % 2}`, maxAttempts: 1 }));
        if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const results = await Promise.all(calls);
      const byKey = new Map<string, Set<string>>();
      for (const task of results) byKey.set(task.idempotencyKey!, (byKey.get(task.idempotencyKey!) ?? new Set()).add(task.id));
      expect([...byKey.values()].map((ids) => ids.size)).toEqual([1, 1]);
      expect((await ctx.tasks.list(alice, { first: 20 })).tasks).toHaveLength(2);
    });
  });

  describe('retention', () => {
    const T0 = Date.parse('2026-11-05T10:00:00.000Z');

    it('its own timer deletes a finished task once TASK_RETENTION_HOURS have passed, and nothing else', async () => {
      // The service's clock is `new Date()`, faked here, as is its housekeeping interval.
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: T0 });
      await start({ limits: { retentionHours: 2 } });
      const finished = await ctx.tasks.create(alice, { kind: 'x', maxAttempts: 1 });
      await ctx.tasks.cancel(alice, { id: finished.id });
      const queued = await ctx.tasks.create(alice, { kind: 'x', maxAttempts: 1 });
      const running = await runningTask();
      // Each purge the timer starts, to wait for its statements (real I/O on PostgreSQL).
      const purges: Promise<number>[] = [];
      const realDelete = ctx.store.deleteFinishedBefore;
      ctx.store.deleteFinishedBefore = (before, limit) => {
        const purge = realDelete(before, limit);
        purges.push(purge);
        return purge;
      };
      const settle = async () => {
        for (let seen = 0; seen < purges.length; seen = purges.length) await Promise.all(purges);
      };

      await vi.advanceTimersByTimeAsync(2 * 3_600_000);
      await settle();
      expect(purges.length).toBeGreaterThan(0);
      expect(await ctx.tasks.get(alice, finished.id)).not.toBeNull();

      const ranBefore = purges.length;
      await vi.advanceTimersByTimeAsync(60_000);
      await settle();
      expect(purges.length).toBeGreaterThan(ranBefore);
      expect(await ctx.tasks.get(alice, finished.id)).toBeNull();
      expect(await ctx.tasks.get(alice, queued.id)).toMatchObject({ status: 'QUEUED' });
      expect(await ctx.tasks.get(alice, running.id)).toMatchObject({ status: 'RUNNING' });
    });

    it('the timer stops with the service', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: T0 });
      await start({ limits: { retentionHours: 1 } });
      expect(vi.getTimerCount()).toBe(1);
      ctx.tasks.close();
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('waits', () => {
    it('1,000 held waits issue no store call while held; a write wakes only its own task’s waiters, re-reading nothing', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: Date.parse('2026-11-05T10:00:00.000Z') });
      await start();
      const a = await ctx.tasks.create(alice, { kind: 'a', maxAttempts: 1 });
      const b = await ctx.tasks.create(alice, { kind: 'b', maxAttempts: 1 });
      const store = countStoreCalls(ctx.store);
      const results: Record<string, (Task | null)[]> = { [a.id]: [], [b.id]: [] };
      const hold = (id: string) => ctx.tasks.awaitTask(alice, { id, timeoutSeconds: 55 }).then(taskOf).then((task) => results[id]!.push(task));
      const held = [...Array.from({ length: 500 }, () => hold(a.id)), ...Array.from({ length: 500 }, () => hold(b.id))];
      await untilHeld(ctx.tasks, 1_000);
      // Each wait read its task once, on arrival.
      expect(store.calls).toEqual({ get: 1_000 });
      store.reset();

      // 54 s of holding (short of the waits' timeout and of the minute's housekeeping): not one statement.
      await vi.advanceTimersByTimeAsync(54_000);
      expect(store.calls).toEqual({});
      expect(ctx.tasks.stats().waiters).toBe(1_000);

      const cancelled = await ctx.tasks.cancel(alice, { id: a.id, reason: 'stop' });
      await until(() => results[a.id]!.length === 500);
      expect(new Set(results[a.id]!.map((task) => JSON.stringify(task)))).toEqual(new Set([JSON.stringify(cancelled)]));
      expect(results[b.id]).toEqual([]);
      expect(ctx.tasks.stats().waiters).toBe(500);
      // The write's own statement, and no read for the 500 it woke: they answer with the published row.
      expect(store.calls).toEqual({ update: 1 });

      // The others time out with the state they hold, still reading nothing.
      await vi.advanceTimersByTimeAsync(1_000);
      await Promise.all(held);
      expect(results[b.id]).toHaveLength(500);
      expect(results[b.id]!.every((task) => task?.id === b.id && task.status === 'QUEUED' && task.revision === 1)).toBe(true);
      expect(store.calls).toEqual({ update: 1 });
      expect(ctx.tasks.stats().waiters).toBe(0);
      expect(ctx.events.listenerCount()).toBe(0);
    });
  });
});
