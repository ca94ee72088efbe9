import { afterEach, describe, expect, it } from 'vitest';
import { createGroupCommitter } from '../../src/storage/sqlite/group-commit.js';
import { OPEN_PRINCIPAL as me } from '../../src/tasks/principal.js';
import { createTestService } from '../helpers/service.js';

let ctx: ReturnType<typeof createTestService>;
afterEach(() => ctx.close());

describe('group commit', () => {
  it("the service's writes arriving together share one commit; a refused one changes nothing", async () => {
    let commits = 0;
    ctx = createTestService({ onCommit: () => commits++ });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ctx.tasks.create(me, { kind: 'g', maxAttempts: 1 })).id);
    for (let i = 0; i < 3; i++) await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 60 });
    commits = 0;
    const results = await Promise.allSettled([
      ctx.tasks.reportProgress(me, { id: ids[0]!, progress: 10 }),
      ctx.tasks.reportProgress(me, { id: ids[1]!, progress: 10, workerId: 'someone else' }),
      ctx.tasks.reportProgress(me, { id: ids[2]!, progress: 30 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(commits).toBe(1);
    expect(ids.map((id) => ctx.repo.get(id)!.progress)).toEqual([10, 0, 30]);
  });

  it('a write that fails after writing rolls back alone (its own savepoint)', async () => {
    ctx = createTestService();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ctx.tasks.create(me, { kind: 'g', maxAttempts: 1 })).id);
    const commits = createGroupCommitter(ctx.repo.transaction);
    const results = await Promise.allSettled([
      commits.run(() => ctx.repo.save({ ...ctx.repo.get(ids[0]!)!, progress: 10, revision: 2 })),
      commits.run(() => {
        ctx.repo.save({ ...ctx.repo.get(ids[1]!)!, progress: 99, revision: 2 });
        throw new Error('refused after writing');
      }),
      commits.run(() => ctx.repo.save({ ...ctx.repo.get(ids[2]!)!, progress: 30, revision: 2 })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(ids.map((id) => ctx.repo.get(id)!.progress)).toEqual([10, 0, 30]);
  });

  it('through the service: concurrent writes are answered and published only after their commit, in order', async () => {
    ctx = createTestService();
    const task = await ctx.tasks.create(me, { kind: 'g', maxAttempts: 1 });
    await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 60 });
    const seenInDb: number[] = [];
    ctx.events.subscribe(task.id, (published) => seenInDb.push(ctx.repo.get(published.id)!.revision));
    const writes = await Promise.allSettled([
      ctx.tasks.reportProgress(me, { id: task.id, progress: 10 }),
      ctx.tasks.reportProgress(me, { id: task.id, progress: 500 }),
      ctx.tasks.reportProgress(me, { id: task.id, progress: 20 }),
      ctx.tasks.complete(me, { id: task.id, result: 'ok' }),
    ]);
    expect(writes.map((w) => (w.status === 'fulfilled' ? w.value.revision : (w.reason as { code: string }).code))).toEqual([
      3,
      'BAD_USER_INPUT',
      4,
      5,
    ]);
    expect(ctx.published.filter((t) => t.id === task.id).map((t) => t.revision)).toEqual([1, 2, 3, 4, 5]);
    // Each event was published once its row was in the database, committed.
    expect(seenInDb).toEqual([5, 5, 5]);
  });
});
