/**
 * `awaitTask` details the service suite leaves out: a client already gone, what a wait tells
 * its caller about the commit that woke it, what it leaves on the client's signal, the
 * per-client slots given back, and an admin waiting on another tenant's task.
 */
import { getEventListeners } from 'node:events';
import { afterEach, expect, it, vi } from 'vitest';
import { OPEN_PRINCIPAL as me, type Principal } from '../../src/tasks/principal.js';
import { createEngineTestService, describeEngines, refusalCode, runningTask, taskOf, type EngineTestService, type ServiceOptions, untilHeld } from '../helpers/service.js';

let ctx: EngineTestService | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await ctx?.close();
  ctx = undefined;
});

describeEngines('long-polls', (engine) => {
  const start = async (options: ServiceOptions = {}) => (ctx = await createEngineTestService(engine, options));

  it('a client already gone gets the current state at once, and nothing is held', async () => {
    await start();
    const task = await runningTask(ctx!.tasks);
    const gone = AbortSignal.abort();
    const answer = ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, signal: gone }).then(taskOf);
    // Answered after its read, not held: the 5 s bound only ends a wait that would hold for 60.
    const first = await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('held'), 5_000).unref())]);
    expect(first).toEqual(task);
    expect(ctx!.tasks.stats().waiters).toBe(0);
    expect(ctx!.events.listenerCount()).toBe(0);
  });

  it('a wait ended by a commit reports when that commit was published; one ended otherwise reports nothing', async () => {
    await start();
    const task = await runningTask(ctx!.tasks);

    const before = performance.now();
    const waiting = ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60 });
    await untilHeld(ctx!.tasks, 1);
    await ctx!.tasks.complete(me, { id: task.id, result: 'r' });
    const woken = await waiting;
    expect(woken.task).toMatchObject({ status: 'COMPLETED' });
    expect(woken.wokenAt).toBeGreaterThanOrEqual(before);
    expect(woken.wokenAt).toBeLessThanOrEqual(performance.now());

    const other = await runningTask(ctx!.tasks);
    const abort = new AbortController();
    const left = ctx!.tasks.awaitTask(me, { id: other.id, timeoutSeconds: 60, signal: abort.signal });
    await untilHeld(ctx!.tasks, 1);
    abort.abort();
    expect(await left).toMatchObject({ task: { status: 'RUNNING' }, wokenAt: null });
    expect(await ctx!.tasks.awaitTask(me, { id: other.id, timeoutSeconds: 0.05 })).toMatchObject({ task: { status: 'RUNNING' }, wokenAt: null });
    // Already an answer when asked: nothing woke it either.
    expect(await ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60 })).toMatchObject({ task: { status: 'COMPLETED' }, wokenAt: null });
  });

  it("a wait that ends leaves no listener on the client's signal", async () => {
    await start();
    const task = await runningTask(ctx!.tasks);
    const { signal } = new AbortController();
    const waiting = ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, signal, afterRevision: task.revision }).then(taskOf);
    await untilHeld(ctx!.tasks, 1);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    await ctx!.tasks.reportProgress(me, { id: task.id, progress: 10 });
    expect(await waiting).toMatchObject({ progress: 10 });
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it("a client's ended waits give their slots back, one each", async () => {
    await start({ limits: { maxWaiters: 100, maxWaitersPerClient: 2 } });
    const task = await runningTask(ctx!.tasks);
    const hold = (signal: AbortSignal) => ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, client: 'a', signal }).then(taskOf);
    const first = new AbortController();
    const rest = new AbortController();
    const held = [hold(first.signal), hold(rest.signal)];
    await untilHeld(ctx!.tasks, 2);
    expect(await refusalCode(hold(rest.signal))).toBe('RESOURCE_EXHAUSTED');
    first.abort();
    await held[0];
    held.push(hold(rest.signal));
    await untilHeld(ctx!.tasks, 2);
    expect(await refusalCode(hold(rest.signal))).toBe('RESOURCE_EXHAUSTED');
    rest.abort();
    await Promise.all(held);
    // Every slot is free again: the client may hold its full share.
    const again = new AbortController();
    const more = [hold(again.signal), hold(again.signal)];
    await untilHeld(ctx!.tasks, 2);
    again.abort();
    await Promise.all(more);
    expect(ctx!.tasks.stats().waiters).toBe(0);
  });

  it("timeout 0 is a read: answered even when the client's held long-polls are at their cap", async () => {
    await start({ limits: { maxWaitersPerClient: 1 } });
    const task = await runningTask(ctx!.tasks);
    const abort = new AbortController();
    const held = ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, client: 'a', signal: abort.signal }).then(taskOf);
    await untilHeld(ctx!.tasks, 1);
    expect(await ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 0, client: 'a' }).then(taskOf)).toEqual(task);
    abort.abort();
    await held;
  });

  it('afterRevision null is no afterRevision: the wait holds through a change, until the task is final', async () => {
    await start();
    const task = await runningTask(ctx!.tasks);
    const waiting = ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 60, afterRevision: null }).then(taskOf);
    await untilHeld(ctx!.tasks, 1);
    await ctx!.tasks.reportProgress(me, { id: task.id, progress: 10 });
    expect(ctx!.tasks.stats().waiters).toBe(1);
    const done = await ctx!.tasks.complete(me, { id: task.id });
    expect(await waiting).toEqual(done);
  });

  it("an admin reads, awaits and cancels another tenant's task by id", async () => {
    await start();
    const alice: Principal = { tenant: 'alice', role: 'worker' };
    const admin: Principal = { tenant: 'ops', role: 'admin' };
    const task = await runningTask(ctx!.tasks, { principal: alice });
    expect(await ctx!.tasks.get(admin, task.id)).toEqual(task);
    const waiting = ctx!.tasks.awaitTask(admin, { id: task.id, timeoutSeconds: 60 }).then(taskOf);
    await untilHeld(ctx!.tasks, 1);
    const cancelled = await ctx!.tasks.cancel(admin, { id: task.id, reason: 'stuck' });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', tenant: 'alice' });
    expect(await waiting).toEqual(cancelled);
  });
});
