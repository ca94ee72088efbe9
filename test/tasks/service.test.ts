import { afterEach, describe, expect, it, vi } from 'vitest';
import { OPEN_PRINCIPAL, type Principal } from '../../src/tasks/principal.js';
import type { Task } from '../../src/tasks/task.js';
import { createEngineTestService, describeEngines, refusalCode, runningTask, taskOf, type EngineTestService, type ServiceOptions, untilHeld } from '../helpers/service.js';

const me = OPEN_PRINCIPAL;
let ctx: EngineTestService;

afterEach(async () => {
  vi.useRealTimers();
  const current = ctx;
  ctx = undefined!;
  await current?.close();
});

describeEngines('service', (engine) => {
  const createTestService = async (options: ServiceOptions = {}) => {
    ctx = await createEngineTestService(engine, options);
    return ctx;
  };

  describe('writes', () => {
    it('each committed write is published once, after commit, with the new row', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 50, message: 'half', workerId: 'w1' });
      await ctx.tasks.heartbeat(me, { id: task.id, workerId: 'w1', leaseSeconds: 30 });
      const done = await ctx.tasks.complete(me, { id: task.id, result: { ok: true }, workerId: 'w1' });
      expect(ctx.published.map((t) => [t.status, t.revision])).toEqual([
        ['QUEUED', 1],
        ['RUNNING', 2],
        ['RUNNING', 3],
        ['COMPLETED', 4],
      ]);
      expect(ctx.published.at(-1)).toEqual(done);
      expect(await ctx.tasks.get(me, task.id)).toEqual(done);
    });

    it('a refused write changes nothing and publishes nothing', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const before = await ctx.tasks.get(me, task.id);
      const eventsBefore = ctx.published.length;
      expect(await refusalCode(ctx.tasks.reportProgress(me, { id: task.id, progress: 101 }))).toBe('BAD_USER_INPUT');
      expect(await refusalCode(ctx.tasks.complete(me, { id: task.id, workerId: 'intruder' }))).toBe('LEASE_MISMATCH');
      expect(await refusalCode(ctx.tasks.heartbeat(me, { id: task.id, workerId: 'w1', leaseSeconds: -5 }))).toBe('BAD_USER_INPUT');
      expect(await refusalCode(ctx.tasks.complete(me, { id: 'missing' }))).toBe('NOT_FOUND');
      expect(await ctx.tasks.get(me, task.id)).toEqual(before);
      expect(ctx.published.length).toBe(eventsBefore);
    });

    it('complete after complete and progress after cancel are INVALID_TRANSITION; cancel after complete is idempotent', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const done = await ctx.tasks.complete(me, { id: task.id, result: 1 });
      expect(await refusalCode(ctx.tasks.complete(me, { id: task.id, result: 2 }))).toBe('INVALID_TRANSITION');
      expect(await ctx.tasks.cancel(me, { id: task.id, reason: 'late' })).toEqual(done);

      const other = await runningTask(ctx.tasks);
      await ctx.tasks.cancel(me, { id: other.id, reason: 'user asked' });
      expect(await refusalCode(ctx.tasks.reportProgress(me, { id: other.id, progress: 10, workerId: 'w1' }))).toBe('INVALID_TRANSITION');
      expect(await refusalCode(ctx.tasks.heartbeat(me, { id: other.id, workerId: 'w1', leaseSeconds: 30 }))).toBe('INVALID_TRANSITION');
    });

    it('createTask with a used idempotencyKey returns the existing task', async () => {
      ctx = await createTestService();
      const first = await ctx.tasks.create(me, { kind: 'import', idempotencyKey: 'k1', maxAttempts: 3 });
      const again = await ctx.tasks.create(me, { kind: 'import', idempotencyKey: 'k1', maxAttempts: 3 });
      expect(again).toEqual(first);
      const page = await ctx.tasks.list(me, { first: 10 });
      expect(page.tasks).toHaveLength(1);
    });

    it('claims the oldest queued task of the asked kinds, and null when none', async () => {
      let now = Date.parse('2026-11-05T10:00:00.000Z');
      ctx = await createTestService({ clock: () => new Date(now) });
      const a = await ctx.tasks.create(me, { kind: 'a', maxAttempts: 1 });
      now += 1;
      const b = await ctx.tasks.create(me, { kind: 'b', maxAttempts: 1 });
      now += 1;
      await ctx.tasks.create(me, { kind: 'a', maxAttempts: 1 });
      expect((await ctx.tasks.claim(me, { kinds: ['b'], workerId: 'w', leaseSeconds: 5 }))?.id).toBe(b.id);
      expect((await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 5 }))?.id).toBe(a.id);
      expect(await ctx.tasks.claim(me, { kinds: ['b', 'c'], workerId: 'w', leaseSeconds: 5 })).toBeNull();
    });

    it('tasks created in the same millisecond keep their order: claimed oldest first, listed newest first', async () => {
      const now = new Date('2026-11-05T10:00:00.000Z');
      ctx = await createTestService({ clock: () => now });
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await ctx.tasks.create(me, { kind: 'same-ms', maxAttempts: 1 })).id);
      expect((await ctx.tasks.list(me, { first: 20 })).tasks.map((t) => t.id)).toEqual([...ids].reverse());
      const claimed: string[] = [];
      for (let i = 0; i < 20; i++) claimed.push((await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 5 }))!.id);
      expect(claimed).toEqual(ids);
    });

    it('refuses NUL characters in stored text with BAD_USER_INPUT, and stores nothing', async () => {
      ctx = await createTestService();
      expect(await refusalCode(ctx.tasks.create(me, { kind: 'a\u0000b', maxAttempts: 1 }))).toBe('BAD_USER_INPUT');
      expect(await refusalCode(ctx.tasks.create(me, { kind: 'a', idempotencyKey: '\u0000', maxAttempts: 1 }))).toBe('BAD_USER_INPUT');
      expect(await refusalCode(ctx.tasks.list(me, { kind: '\u0000', first: 1 }))).toBe('BAD_USER_INPUT');
      expect((await ctx.tasks.list(me, { first: 10 })).tasks).toEqual([]);
      const task = await runningTask(ctx.tasks);
      expect(await refusalCode(ctx.tasks.claim(me, { kinds: ['\u0000'], workerId: 'w', leaseSeconds: 5 }))).toBe('BAD_USER_INPUT');
      expect(await refusalCode(ctx.tasks.reportProgress(me, { id: task.id, progress: 5, message: 'x\u0000' }))).toBe('BAD_USER_INPUT');
      expect(await refusalCode(ctx.tasks.cancel(me, { id: task.id, reason: '\u0000' }))).toBe('BAD_USER_INPUT');
      expect(await ctx.tasks.get(me, `${task.id}\u0000`)).toBeNull();
      expect(await ctx.tasks.get(me, task.id)).toMatchObject({ status: 'RUNNING', revision: task.revision });
      // JSON values may hold it: they are stored serialized, as the escape \u0000.
      const done = await ctx.tasks.complete(me, { id: task.id, result: { text: 'a\u0000b' } });
      expect((await ctx.tasks.get(me, task.id))?.result).toEqual({ text: 'a\u0000b' });
      expect(done.result).toEqual({ text: 'a\u0000b' });
    });

    it('refuses oversized input and result', async () => {
      ctx = await createTestService({ limits: { maxPayloadBytes: 100 } });
      expect(await refusalCode(ctx.tasks.create(me, { kind: 'x', input: 'y'.repeat(200), maxAttempts: 1 }))).toBe('BAD_USER_INPUT');
      const task = await runningTask(ctx.tasks);
      expect(await refusalCode(ctx.tasks.complete(me, { id: task.id, result: { big: 'z'.repeat(200) } }))).toBe('BAD_USER_INPUT');
      expect((await ctx.tasks.get(me, task.id))?.status).toBe('RUNNING');
    });
  });

  describe('tenants', () => {
    it("another tenant's task behaves like an unknown id", async () => {
      ctx = await createTestService();
      const alice: Principal = { tenant: 'alice', role: 'worker' };
      const bob: Principal = { tenant: 'bob', role: 'worker' };
      const task = await ctx.tasks.create(alice, { kind: 'x', maxAttempts: 1 });
      expect(await ctx.tasks.get(bob, task.id)).toBeNull();
      expect(await ctx.tasks.awaitTask(bob, { id: task.id, timeoutSeconds: 5 }).then(taskOf)).toBeNull();
      expect(await refusalCode(ctx.tasks.cancel(bob, { id: task.id }))).toBe('NOT_FOUND');
      expect(await refusalCode(ctx.tasks.follow(bob, { id: task.id }))).toBe('NOT_FOUND');
      expect(await ctx.tasks.claim(bob, { workerId: 'w', leaseSeconds: 5 })).toBeNull();
      expect((await ctx.tasks.list(bob, { first: 10 })).tasks).toEqual([]);
      expect(await refusalCode(ctx.tasks.claim({ tenant: 'alice', role: 'client' }, { workerId: 'w', leaseSeconds: 5 }))).toBe('FORBIDDEN');
      expect((await ctx.tasks.get(alice, task.id))?.status).toBe('QUEUED');
    });
  });

  describe('awaitTask', () => {
    it('returns at once when done, when already past afterRevision, for timeout 0 and for an unknown id', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      expect(await ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 0 }).then(taskOf)).toMatchObject({ status: 'RUNNING' });
      expect(await ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, afterRevision: 1 }).then(taskOf)).toMatchObject({ revision: 2 });
      expect(await ctx.tasks.awaitTask(me, { id: 'nope', timeoutSeconds: 60 }).then(taskOf)).toBeNull();
      await ctx.tasks.complete(me, { id: task.id });
      expect(await ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60 }).then(taskOf)).toMatchObject({ status: 'COMPLETED' });
      expect(ctx.tasks.stats().waiters).toBe(0);
    });

    it('refuses negative, NaN and infinite timeouts and holds nothing', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      for (const timeoutSeconds of [-1, Number.NaN, Infinity, -Infinity]) {
        expect(await refusalCode(ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds }).then(taskOf))).toBe('BAD_USER_INPUT');
      }
      expect(ctx.events.listenerCount()).toBe(0);
    });

    it('holds until the task is done, ignoring intermediate changes without afterRevision', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const waiting = ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 30 }).then(taskOf);
      await vi.waitFor(() => expect(ctx.tasks.stats().waiters).toBe(1));
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 10 });
      expect(ctx.tasks.stats().waiters).toBe(1);
      await ctx.tasks.complete(me, { id: task.id, result: 'r' });
      expect(await waiting).toMatchObject({ status: 'COMPLETED', result: 'r', revision: 4 });
      expect(ctx.tasks.stats().waiters).toBe(0);
      expect(ctx.events.listenerCount()).toBe(0);
    });

    it('with afterRevision, any change ends the wait', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const waiting = ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 30, afterRevision: task.revision }).then(taskOf);
      await vi.waitFor(() => expect(ctx.tasks.stats().waiters).toBe(1));
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 10 });
      expect(await waiting).toMatchObject({ progress: 10, revision: 3, status: 'RUNNING' });
    });

    it('times out with the latest state, clamping to the maximum', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      ctx = await createTestService({ limits: { awaitTimeoutMaxSeconds: 2 } });
      const task = await runningTask(ctx.tasks);
      let result: Task | null | undefined;
      void ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 1e9 }).then(taskOf).then((value) => (result = value));
      await untilHeld(ctx.tasks, 1);
      await vi.advanceTimersByTimeAsync(1_999);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toMatchObject({ status: 'RUNNING', revision: 2 });
      expect(ctx.tasks.stats().waiters).toBe(0);
    });

    it('releases the waiter, its timer and its listener when the client aborts', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const abort = new AbortController();
      const waiting = ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, signal: abort.signal }).then(taskOf);
      await vi.waitFor(() => expect(ctx.tasks.stats().waiters).toBe(1));
      abort.abort();
      await waiting;
      expect(ctx.tasks.stats().waiters).toBe(0);
      expect(ctx.events.listenerCount()).toBe(0);
    });

    it('a change committed between arrival and wait still ends the wait (listen, then read)', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const realGet = ctx.store.get;
      // The read sees the task running; the completion then commits (and publishes) before the
      // read's answer reaches the wait. Only a waiter already listening can learn of it: a
      // service that read first and listened after would time out with the stale row.
      ctx.store.get = async (id) => {
        const before = await realGet(id);
        ctx.store.get = realGet;
        await ctx.tasks.complete(me, { id, result: 'raced' });
        return before;
      };
      const result = await ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 2 }).then(taskOf);
      expect(result).toMatchObject({ status: 'COMPLETED', result: 'raced' });
    });

    it('caps held long-polls in total and per client with RESOURCE_EXHAUSTED', async () => {
      ctx = await createTestService({ limits: { maxWaiters: 3, maxWaitersPerClient: 2 } });
      const task = await runningTask(ctx.tasks);
      const abort = new AbortController();
      const hold = (client: string) => ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, client, signal: abort.signal }).then(taskOf);
      const held = [hold('a'), hold('a')];
      await untilHeld(ctx.tasks, 2);
      expect(await refusalCode(hold('a'))).toBe('RESOURCE_EXHAUSTED');
      held.push(hold('b'));
      await untilHeld(ctx.tasks, 3);
      expect(await refusalCode(hold('c'))).toBe('RESOURCE_EXHAUSTED');
      expect(ctx.tasks.stats().waiters).toBe(3);
      abort.abort();
      await Promise.all(held);
      expect(ctx.tasks.stats().waiters).toBe(0);
    });

    it('close() answers every held wait with the latest state', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const waiting = ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60 }).then(taskOf);
      await vi.waitFor(() => expect(ctx.tasks.stats().waiters).toBe(1));
      ctx.tasks.close();
      expect(await waiting).toMatchObject({ status: 'RUNNING' });
    });
  });

  describe('follow (taskUpdated)', () => {
    it('sends the current state, then each change, and ends after the final one', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const stream = await ctx.tasks.follow(me, { id: task.id });
      const seen: number[] = [];
      const reading = (async () => {
        for await (const state of stream) seen.push(state.revision);
      })();
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 10 });
      await new Promise((resolve) => setImmediate(resolve));
      await ctx.tasks.complete(me, { id: task.id });
      await reading;
      expect(seen).toEqual([2, 3, 4]);
      expect(ctx.tasks.stats().subscriptions).toBe(0);
      expect(ctx.events.listenerCount()).toBe(0);
    });

    it('resumes after afterRevision with no gap and no duplicate', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 10 });
      const current = await ctx.tasks.follow(me, { id: task.id, afterRevision: 2 });
      expect((await current.next()).value).toMatchObject({ revision: 3 });
      await current.return!();
      const upToDate = await ctx.tasks.follow(me, { id: task.id, afterRevision: 3 });
      const next = upToDate.next();
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 20 });
      expect((await next).value).toMatchObject({ revision: 4, progress: 20 });
      await upToDate.return!();
      expect(ctx.tasks.stats().subscriptions).toBe(0);
    });

    it('ends at once for a final task the client has already seen', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const done = await ctx.tasks.complete(me, { id: task.id });
      const stream = await ctx.tasks.follow(me, { id: task.id, afterRevision: done.revision });
      expect(await stream.next()).toEqual({ done: true, value: undefined });
      expect(ctx.tasks.stats().subscriptions).toBe(0);
    });

    it('conflates for a subscriber that never reads: thousands of updates cost one row; latest and final delivered', async () => {
      // Each update is a transaction of its own: about 1.5 ms on PostgreSQL, 0.1 ms on SQLite.
      const updates = engine === 'postgres' ? 1_000 : 5_000;
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks, { leaseSeconds: 3600 });
      const stream = await ctx.tasks.follow(me, { id: task.id });
      for (let i = 0; i < updates; i++) await ctx.tasks.reportProgress(me, { id: task.id, progress: i % 101 });
      expect((await stream.next()).value).toMatchObject({ revision: updates + 2 });
      await ctx.tasks.complete(me, { id: task.id });
      expect((await stream.next()).value).toMatchObject({ status: 'COMPLETED', revision: updates + 3 });
      expect((await stream.next()).done).toBe(true);
    });

    it('return() while idle releases the listener at once', async () => {
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks);
      const stream = await ctx.tasks.follow(me, { id: task.id });
      await stream.next();
      const pending = stream.next();
      await stream.return!();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(ctx.events.listenerCount()).toBe(0);
      expect(ctx.tasks.stats().subscriptions).toBe(0);
    });

    it('throws NOT_FOUND for an unknown id and holds nothing', async () => {
      ctx = await createTestService();
      expect(await refusalCode(ctx.tasks.follow(me, { id: 'nope' }))).toBe('NOT_FOUND');
      expect(ctx.events.listenerCount()).toBe(0);
      expect(ctx.tasks.stats().subscriptions).toBe(0);
    });
  });

  describe('leases and retention', () => {
    it('an expired lease requeues the task and a late write from the old worker is LEASE_MISMATCH', async () => {
      let now = Date.parse('2026-11-05T10:00:00.000Z');
      ctx = await createTestService({ clock: () => new Date(now) });
      const task = await runningTask(ctx.tasks, { maxAttempts: 2, leaseSeconds: 10 });
      now += 10_001;
      await ctx.tasks.expireLeases();
      expect(await ctx.tasks.get(me, task.id)).toMatchObject({ status: 'QUEUED', error: { code: 'LEASE_EXPIRED' }, revision: 3 });
      expect(ctx.published.at(-1)).toMatchObject({ status: 'QUEUED', revision: 3 });
      expect(await refusalCode(ctx.tasks.complete(me, { id: task.id, workerId: 'w1' }))).toBe('LEASE_MISMATCH');
      await ctx.tasks.claim(me, { workerId: 'w2', leaseSeconds: 10 });
      now += 10_001;
      await ctx.tasks.expireLeases();
      expect(await ctx.tasks.get(me, task.id)).toMatchObject({ status: 'FAILED', error: { code: 'LEASE_EXPIRED' }, attempts: 2 });
    });

    it('heartbeats and progress keep the lease alive', async () => {
      let now = Date.parse('2026-11-05T10:00:00.000Z');
      ctx = await createTestService({ clock: () => new Date(now) });
      const task = await runningTask(ctx.tasks, { leaseSeconds: 10 });
      now += 8_000;
      await ctx.tasks.heartbeat(me, { id: task.id, workerId: 'w1', leaseSeconds: 10 });
      now += 8_000;
      await ctx.tasks.reportProgress(me, { id: task.id, progress: 5, workerId: 'w1' });
      now += 8_000;
      await ctx.tasks.expireLeases();
      expect((await ctx.tasks.get(me, task.id))?.status).toBe('RUNNING');
    });

    it('the lease timer fires by itself at the nearest expiry', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      ctx = await createTestService();
      const task = await runningTask(ctx.tasks, { leaseSeconds: 5 });
      let result: Task | null | undefined;
      void ctx.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60 }).then(taskOf).then((value) => (result = value));
      await untilHeld(ctx.tasks, 1);
      await vi.advanceTimersByTimeAsync(4_999);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      // The expiry is a transaction; on PostgreSQL it takes a few real round trips.
      await vi.waitFor(() => expect(result).toMatchObject({ status: 'FAILED', error: { code: 'LEASE_EXPIRED' } }));
    });

    it('keeps the count of tasks by status through every kind of write, refusals, lease expiry and retention', async () => {
      let now = Date.parse('2026-11-05T10:00:00.000Z');
      ctx = await createTestService({ clock: () => new Date(now), limits: { retentionHours: 1 } });
      const tally = async () => {
        const rows = await ctx.store.list({ tenant: me.tenant, limit: 1_000 });
        const counts: Record<string, number> = { QUEUED: 0, RUNNING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 };
        for (const row of rows) counts[row.status]!++;
        return counts;
      };
      const expectCounts = async (expected: Record<string, number>) => {
        expect(await tally()).toEqual(expected);
        expect(await ctx.store.countByStatus()).toEqual(expected);
      };
      await ctx.tasks.create(me, { kind: 'x', maxAttempts: 1, idempotencyKey: 'k' });
      await ctx.tasks.create(me, { kind: 'x', maxAttempts: 1, idempotencyKey: 'k' });
      const expiring = await runningTask(ctx.tasks, { leaseSeconds: 10 });
      const done = await runningTask(ctx.tasks);
      await ctx.tasks.complete(me, { id: done.id, workerId: 'w1' });
      expect(await refusalCode(ctx.tasks.complete(me, { id: done.id, workerId: 'w1' }))).toBe('INVALID_TRANSITION');
      await expectCounts({ QUEUED: 1, RUNNING: 1, COMPLETED: 1, FAILED: 0, CANCELLED: 0 });
      now += 10_001;
      await ctx.tasks.expireLeases();
      expect((await ctx.tasks.get(me, expiring.id))?.status).toBe('FAILED');
      await expectCounts({ QUEUED: 1, RUNNING: 0, COMPLETED: 1, FAILED: 1, CANCELLED: 0 });
      now += 3_600_001;
      await ctx.tasks.purgeExpired();
      await expectCounts({ QUEUED: 1, RUNNING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 });
    });

    it('deletes finished tasks past the retention period, and only those', async () => {
      let now = Date.parse('2026-11-05T10:00:00.000Z');
      ctx = await createTestService({ clock: () => new Date(now), limits: { retentionHours: 1 } });
      const old = await ctx.tasks.create(me, { kind: 'x', maxAttempts: 1 });
      await ctx.tasks.cancel(me, { id: old.id });
      const queued = await ctx.tasks.create(me, { kind: 'x', maxAttempts: 1 });
      now += 3_600_001;
      const recent = await ctx.tasks.create(me, { kind: 'x', maxAttempts: 1 });
      await ctx.tasks.cancel(me, { id: recent.id });
      await ctx.tasks.purgeExpired();
      expect(await ctx.tasks.get(me, old.id)).toBeNull();
      expect(await ctx.tasks.get(me, queued.id)).not.toBeNull();
      expect(await ctx.tasks.get(me, recent.id)).not.toBeNull();
    });
  });
});
