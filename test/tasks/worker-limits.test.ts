import { afterEach, describe, expect, it, vi } from 'vitest';
import { OPEN_PRINCIPAL as me } from '../../src/tasks/principal.js';
import { MAX_LEASE_SECONDS } from '../../src/tasks/task.js';
import { createTestService, refusalCode } from '../helpers/service.js';

/*
 * Values a worker sends that once let one worker take the server down: a lease past what a
 * timer can hold (the lease timer then spun), and claims naming ever new numbers of kinds
 * (a statement prepared and kept per count).
 */

let ctx: ReturnType<typeof createTestService> | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await ctx?.close();
  ctx = undefined;
});


describe('leases', () => {
  it('a lease longer than MAX_LEASE_SECONDS is BAD_USER_INPUT for claim and heartbeat, and nothing changes', async () => {
    ctx = createTestService();
    const task = await ctx.tasks.create(me, { kind: 'k', maxAttempts: 1 });
    expect(await refusalCode(ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 3_000_000 }))).toBe('BAD_USER_INPUT');
    expect((await ctx.tasks.get(me, task.id))?.status).toBe('QUEUED');
    const claimed = await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: MAX_LEASE_SECONDS });
    expect(claimed).toMatchObject({ id: task.id, leaseSeconds: MAX_LEASE_SECONDS });
    expect(await refusalCode(ctx.tasks.heartbeat(me, { id: task.id, workerId: 'w', leaseSeconds: MAX_LEASE_SECONDS + 1 }))).toBe('BAD_USER_INPUT');
    expect((await ctx.tasks.get(me, task.id))?.leaseExpiresAt).toEqual(claimed!.leaseExpiresAt);
  });

  it('a lease stored far ahead (30 days) does not make the timer spin: nothing runs until its time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    ctx = createTestService();
    const task = await ctx.tasks.create(me, { kind: 'k', maxAttempts: 1 });
    await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 60 });
    // A lease written by an earlier version, or another instance, that ends in 30 days.
    const farEnd = Date.now() + 30 * 86_400_000;
    ctx.repo.save({ ...ctx.repo.get(task.id)!, leaseExpiresAt: new Date(farEnd) });
    let runs = 0;
    const expire = ctx.store.expireLeases.bind(ctx.store);
    ctx.store.expireLeases = (...args) => {
      runs++;
      return expire(...args);
    };
    // The 60 s timer set by the claim fires once and re-arms for the stored end.
    await vi.advanceTimersByTimeAsync(61_000);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(24 * 86_400_000);
    expect(runs).toBe(1);
    // Past the longest delay a timer takes (24.8 days) it wakes once, finds nothing due, sleeps again.
    await vi.advanceTimersByTimeAsync(5 * 86_400_000);
    expect(runs).toBeLessThanOrEqual(3);
    expect((await ctx.tasks.get(me, task.id))?.status).toBe('RUNNING');
    await vi.advanceTimersByTimeAsync(farEnd - Date.now() + 1_000);
    await vi.waitFor(async () => expect((await ctx!.tasks.get(me, task.id))?.status).toBe('FAILED'));
  });
});

describe('claims naming kinds', () => {
  it('at most 100 kinds per claim; any number of distinct counts uses a bounded set of statements', async () => {
    ctx = createTestService();
    const { sqlite } = ctx.database;
    const prepared = new Set<string>();
    const prepare = sqlite.prepare.bind(sqlite);
    sqlite.prepare = ((source: string) => {
      prepared.add(source);
      return prepare(source);
    }) as typeof sqlite.prepare;
    await ctx.tasks.create(me, { kind: 'kind-42', maxAttempts: 1 });
    const kinds = (n: number) => Array.from({ length: n }, (_, i) => `kind-${i}`);
    expect(await refusalCode(ctx.tasks.claim(me, { kinds: kinds(101), workerId: 'w', leaseSeconds: 60 }))).toBe('BAD_USER_INPUT');
    const before = prepared.size;
    for (let n = 0; n <= 100; n++) {
      const claimed = await ctx.tasks.claim(me, { kinds: kinds(n), workerId: 'w', leaseSeconds: 60 });
      if (claimed) expect(claimed.kind).toBe('kind-42');
    }
    // One statement for no kinds, one for one kind, one for several: not one per count.
    expect(prepared.size - before).toBeLessThanOrEqual(3);
    expect((await ctx.tasks.list(me, { first: 10 })).tasks.map((t) => t.status)).toEqual(['RUNNING']);
  });
});
