import { afterEach, expect, it } from 'vitest';
import type { Principal } from '../../src/tasks/principal.js';
import { createEngineTestService, describeEngines, refusalCode, type EngineTestService } from '../helpers/service.js';

/*
 * Tags (contract v2): given at creation, never changed; up to 16, each 1 to 64 letters,
 * digits and `_.:/-`, duplicates dropped; anything else refused with nothing created;
 * `tasks(tag:)` lists the caller's tenant's tasks that carry the tag, newest first.
 */

const alice: Principal = { tenant: 'alice', role: 'client' };
const bob: Principal = { tenant: 'bob', role: 'client' };
/** An admin lists every tenant's tasks. */
const admin: Principal = { tenant: 'alice', role: 'admin' };
let ctx: EngineTestService | undefined;

afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

describeEngines('tags', (engine) => {
  const start = async () => (ctx = await createEngineTestService(engine));
  const ids = async (principal: Principal, tag: string, first = 20, after?: string) => {
    const page = await ctx!.tasks.list(principal, { tag, first, after });
    return page.tasks.map((task) => task.id);
  };

  it('are kept as given, without duplicates, in their order, and read back the same; none is []', async () => {
    await start();
    const tagged = await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags: ['team:a', 'eu-west/1', 'team:a', 'v1.2_x'] });
    expect(tagged.tags).toEqual(['team:a', 'eu-west/1', 'v1.2_x']);
    expect((await ctx!.tasks.get(alice, tagged.id))?.tags).toEqual(['team:a', 'eu-west/1', 'v1.2_x']);
    expect((await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1 })).tags).toEqual([]);
    // Never changed by later writes, and published with every change.
    await ctx!.tasks.cancel(alice, { id: tagged.id });
    expect(ctx!.published.at(-1)).toMatchObject({ id: tagged.id, tags: ['team:a', 'eu-west/1', 'v1.2_x'] });
  });

  it('anything else is BAD_USER_INPUT, with nothing created', async () => {
    await start();
    const tooMany = Array.from({ length: 17 }, (_, n) => `t${n}`);
    for (const tags of [tooMany, [''], ['x'.repeat(65)], ['a b'], ['ü'], ['a,b'], ['\u0000']]) {
      expect(await refusalCode(ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags })), JSON.stringify(tags).slice(0, 40)).toBe('BAD_USER_INPUT');
    }
    expect((await ctx!.tasks.list(alice, { first: 100 })).tasks).toEqual([]);
    // 16 different tags, and 64 characters, are allowed; 17 copies of one tag are one tag.
    expect((await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags: tooMany.slice(0, 16) })).tags).toHaveLength(16);
    expect((await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags: ['y'.repeat(64)] })).tags).toEqual(['y'.repeat(64)]);
    expect((await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags: Array(17).fill('same') })).tags).toEqual(['same']);
    expect(await refusalCode(ctx!.tasks.list(alice, { tag: 'a b', first: 10 }))).toBe('BAD_USER_INPUT');
  });

  it('tasks(tag:) lists the tenant’s tasks with that tag, newest first, in pages, with the other filters', async () => {
    await start();
    const made: string[] = [];
    for (let n = 0; n < 5; n++) {
      made.push((await ctx!.tasks.create(alice, { kind: n % 2 ? 'odd' : 'even', maxAttempts: 1, tags: n === 2 ? ['other'] : ['report', `n${n}`] })).id);
    }
    await ctx!.tasks.create(bob, { kind: 'even', maxAttempts: 1, tags: ['report'] });
    const reports = [made[4], made[3], made[1], made[0]];
    expect(await ids(alice, 'report')).toEqual(reports);
    // Pages follow the cursor.
    const first = await ctx!.tasks.list(alice, { tag: 'report', first: 3 });
    expect(first.hasNextPage).toBe(true);
    expect(await ids(alice, 'report', 3, first.cursorOf(first.tasks.at(-1)!))).toEqual([made[0]]);
    // With a status and a kind.
    await ctx!.tasks.cancel(alice, { id: made[3]! });
    expect((await ctx!.tasks.list(alice, { tag: 'report', status: 'CANCELLED', first: 10 })).tasks.map((task) => task.id)).toEqual([made[3]]);
    expect((await ctx!.tasks.list(alice, { tag: 'report', kind: 'even', first: 10 })).tasks.map((task) => task.id)).toEqual([made[4], made[0]]);
    // Another tenant's tagged tasks never show; an admin sees every tenant's.
    expect(await ids(bob, 'report')).toHaveLength(1);
    expect(await ids(admin, 'report')).toHaveLength(5);
    expect(await ids(alice, 'nothing-has-it')).toEqual([]);
  });

  it('a task deleted by retention takes its tags with it', async () => {
    await start();
    const old = await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags: ['gone'] });
    await ctx!.tasks.cancel(alice, { id: old.id });
    await ctx!.store.deleteFinishedBefore(Date.now() + 60_000, 100);
    expect(await ids(alice, 'gone')).toEqual([]);
    // The tag can be used again at once: nothing of the old task is left in its index.
    const again = await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1, tags: ['gone'] });
    expect(await ids(alice, 'gone')).toEqual([again.id]);
  });
});
