import { afterEach, describe, expect, it } from 'vitest';
import { createGroupCommitter } from '../../src/tasks/group-commit.js';
import { OPEN_PRINCIPAL as me } from '../../src/tasks/principal.js';
import { createTestService } from '../helpers/service.js';

let ctx: ReturnType<typeof createTestService>;
afterEach(() => ctx.close());

describe('group commit', () => {
  it('writes arriving together share one transaction; a refused one rolls back alone', async () => {
    ctx = createTestService();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await ctx.tasks.create(me, { kind: 'g', maxAttempts: 1 })).id);
    for (let i = 0; i < 3; i++) await ctx.tasks.claim(me, { workerId: 'w', leaseSeconds: 60 });

    let outer = 0;
    let depth = 0;
    const transaction = ctx.repo.transaction;
    ctx.repo.transaction = (work) => {
      if (depth === 0) outer++;
      depth++;
      try {
        return transaction(work);
      } finally {
        depth--;
      }
    };
    // The service captured the repository's function at creation; count through a fresh committer.
    const commits = createGroupCommitter(ctx.repo.transaction);
    const results = await Promise.allSettled([
      commits.run(() => ctx.repo.save({ ...ctx.repo.get(ids[0]!)!, progress: 10, revision: 3 })),
      commits.run(() => {
        ctx.repo.save({ ...ctx.repo.get(ids[1]!)!, progress: 99, revision: 3 });
        throw new Error('refused after writing');
      }),
      commits.run(() => ctx.repo.save({ ...ctx.repo.get(ids[2]!)!, progress: 30, revision: 3 })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outer).toBe(1);
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
    expect(ctx.published.filter((t) => t.id === task.id).map((t) => t.revision)).toEqual([2, 3, 4, 5]);
    // Each event was published once its row was in the database, committed.
    expect(seenInDb).toEqual([5, 5, 5]);
  });
});
