/**
 * Per-tenant quotas in the service, on both engines: the write rate (a token bucket on the
 * service's clock) and the cap on QUEUED tasks, counted through every way a task enters or
 * leaves QUEUED.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/tasks/principal.js';
import { QuotaError } from '../../src/tasks/quotas.js';
import type { TaskServiceLimits } from '../../src/tasks/service.js';
import { createEngineTestService, createTestService, describeEngines, type EngineTestService } from '../helpers/service.js';

const alice: Principal = { tenant: 'alice', role: 'worker' };
const bob: Principal = { tenant: 'bob', role: 'worker' };

const T0 = Date.parse('2026-11-05T10:00:00.000Z');

let ctx: EngineTestService | undefined;
let now = T0;
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await ctx?.close();
  ctx = undefined;
});

/** The refusal of `work`: its code, quota reason and retry delay; 'ok' when it is taken. */
async function refusalOf(work: Promise<unknown>) {
  try {
    await work;
    return 'ok';
  } catch (error) {
    if (!(error instanceof QuotaError)) throw error;
    return { code: error.code, reason: error.reason, retryAfterSeconds: error.retryAfterSeconds };
  }
}

/** Every task of the tenant (up to 100), newest first. */
const listOf = async (principal: Principal) => (await ctx!.tasks.list(principal, { first: 100 })).tasks;

const create = (principal: Principal, kind = 'k', idempotencyKey?: string) =>
  ctx!.tasks.create(principal, { kind, maxAttempts: 3, idempotencyKey });

describeEngines('tenant quotas', (engine) => {
  const start = async (limits: Partial<TaskServiceLimits>) => {
    now = T0;
    ctx = await createEngineTestService(engine, { limits, clock: () => new Date(now) });
    return ctx;
  };

  describe('write rate', () => {
    it('a tenant writes its burst at once, then at its rate; past it RESOURCE_EXHAUSTED with the seconds to wait, nothing written; other tenants are not slowed', async () => {
      await start({ tenantWritesPerSecond: 2, tenantWriteBurst: 3 });
      const first = await create(alice, 'a1');
      await ctx!.tasks.claim(alice, { kinds: ['a1'], workerId: 'w', leaseSeconds: 60 });
      await ctx!.tasks.reportProgress(alice, { id: first.id, progress: 5 });
      const refused = { code: 'RESOURCE_EXHAUSTED', reason: 'tenant_write_rate', retryAfterSeconds: 1 };
      expect(await refusalOf(create(alice, 'a2'))).toEqual(refused);
      expect(await refusalOf(ctx!.tasks.cancel(alice, { id: first.id }))).toEqual(refused);
      expect(await refusalOf(ctx!.tasks.claim(alice, { workerId: 'w', leaseSeconds: 60 }))).toEqual(refused);
      expect((await listOf(alice)).map((task) => [task.kind, task.status, task.progress])).toEqual([['a1', 'RUNNING', 5]]);

      // Bob's bucket is his own.
      for (let i = 0; i < 3; i++) await create(bob, `b${i}`);
      expect(await refusalOf(create(bob, 'b3'))).toMatchObject({ reason: 'tenant_write_rate' });

      // Half a second at 2 per second gives Alice one write back; a quarter more, half a token: not enough.
      now += 500;
      await ctx!.tasks.cancel(alice, { id: first.id });
      now += 250;
      expect(await refusalOf(create(alice, 'a2'))).toEqual(refused);
      // However long she waits, no more than her burst at once.
      now += 60_000;
      for (let i = 0; i < 3; i++) await create(alice, `later${i}`);
      expect(await refusalOf(create(alice, 'later3'))).toEqual(refused);
      expect((await listOf(alice)).map((task) => task.kind)).toEqual(['later2', 'later1', 'later0', 'a1']);
    });

    it('Retry-After rounds up the wait for one token at the rate', async () => {
      await start({ tenantWritesPerSecond: 0.25, tenantWriteBurst: 1 });
      await create(alice);
      expect(await refusalOf(create(alice))).toMatchObject({ retryAfterSeconds: 4 });
      now += 1_500;
      expect(await refusalOf(create(alice))).toMatchObject({ retryAfterSeconds: 3 });
      now += 2_500;
      expect(await refusalOf(create(alice))).toBe('ok');
    });

    it('a clock that steps back gives no tokens and takes none', async () => {
      await start({ tenantWritesPerSecond: 1, tenantWriteBurst: 2 });
      await create(alice);
      now -= 60_000;
      await create(alice);
      expect(await refusalOf(create(alice))).toMatchObject({ reason: 'tenant_write_rate' });
      now += 1_000;
      expect(await refusalOf(create(alice))).toBe('ok');
    });
  });

  describe('queued tasks per tenant', () => {
    it('createTask past MAX_QUEUED_PER_TENANT is RESOURCE_EXHAUSTED and creates nothing; other tenants are not counted; an existing idempotency key still answers', async () => {
      await start({ maxQueuedPerTenant: 3 });
      const kept = await create(alice, 'k', 'order-1');
      await create(alice);
      await create(alice);
      expect(await refusalOf(create(alice, 'over'))).toEqual({ code: 'RESOURCE_EXHAUSTED', reason: 'tenant_queued_tasks', retryAfterSeconds: undefined });
      expect(await refusalOf(create(alice, 'over', 'order-2'))).toMatchObject({ reason: 'tenant_queued_tasks' });
      expect((await create(alice, 'k', 'order-1')).id).toBe(kept.id);
      expect((await listOf(alice)).filter((task) => task.kind === 'over')).toEqual([]);
      expect(await listOf(alice)).toHaveLength(3);
      for (let i = 0; i < 3; i++) await create(bob);
      expect(await refusalOf(create(bob))).toMatchObject({ reason: 'tenant_queued_tasks' });
    });

    it('a claim or a cancel frees a place; a retry, a requeue and an expired lease take one back', async () => {
      await start({ maxQueuedPerTenant: 2 });
      const a = await create(alice, 'a');
      const b = await create(alice, 'b');
      expect(await refusalOf(create(alice))).toMatchObject({ reason: 'tenant_queued_tasks' });

      await ctx!.tasks.claim(alice, { kinds: ['a'], workerId: 'w', leaseSeconds: 60 });
      const c = await create(alice, 'c');
      expect(await refusalOf(create(alice))).toMatchObject({ reason: 'tenant_queued_tasks' });
      // Failed with a retry, `a` is queued again: three queued, over the cap; nothing new is taken.
      await ctx!.tasks.fail(alice, { id: a.id, message: 'again', retry: true });
      expect(await refusalOf(create(alice))).toMatchObject({ reason: 'tenant_queued_tasks' });

      await ctx!.tasks.cancel(alice, { id: b.id });
      await ctx!.tasks.cancel(alice, { id: c.id });
      // `a` alone is queued: one place.
      await create(alice, 'd');
      expect(await refusalOf(create(alice))).toMatchObject({ reason: 'tenant_queued_tasks' });

      // A lease that runs out puts its task back in the queue, where it counts again.
      const running = await ctx!.tasks.claim(alice, { kinds: ['a'], workerId: 'w', leaseSeconds: 5 });
      expect(running?.id).toBe(a.id);
      await create(alice, 'e');
      now += 6_000;
      await ctx!.tasks.expireLeases();
      expect((await ctx!.tasks.get(alice, a.id))?.status).toBe('QUEUED');
      await ctx!.tasks.cancel(alice, { id: a.id });
      expect(await refusalOf(create(alice))).toMatchObject({ reason: 'tenant_queued_tasks' });
      expect((await listOf(alice)).filter((task) => task.status === 'QUEUED').map((task) => task.kind)).toEqual(['e', 'd']);
    });

    if (engine === 'sqlite') {
      it('creates that share one group commit never pass the cap together', async () => {
        await start({ maxQueuedPerTenant: 5 });
        const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => refusalOf(create(alice, `burst${i}`))));
        expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(5);
        expect(await listOf(alice)).toHaveLength(5);
      });
    }
  });
});

describe('queued tasks per tenant on SQLite after a restart', () => {
  it('are counted from the file at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quotas-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const url = join(dir, 'tasks.db');
    const before = createTestService({ url, limits: { maxQueuedPerTenant: 2 } });
    await before.tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    await before.tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    await before.close();
    const after = createTestService({ url, limits: { maxQueuedPerTenant: 2 } });
    cleanups.push(() => after.close());
    expect(await refusalOf(after.tasks.create(alice, { kind: 'k', maxAttempts: 1 }))).toMatchObject({ reason: 'tenant_queued_tasks' });
    expect(await refusalOf(after.tasks.create(bob, { kind: 'k', maxAttempts: 1 }))).toBe('ok');
  });
});
