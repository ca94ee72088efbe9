/**
 * Group commit when the commit itself fails, and at shutdown: every caller in a failed batch
 * is refused, and a flush commits what is queued at once, and nothing when nothing is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGroupCommitter } from '../../src/storage/sqlite/group-commit.js';
import { OPEN_PRINCIPAL as me } from '../../src/tasks/principal.js';
import { createTestService } from '../helpers/service.js';

let ctx: ReturnType<typeof createTestService>;
afterEach(() => ctx.close());

describe('group commit', () => {
  it('a batch whose transaction cannot run refuses every caller in it, and tells no one it committed', async () => {
    ctx = createTestService();
    const task = await ctx.tasks.create(me, { kind: 'g', maxAttempts: 1 });
    let commits = 0;
    const committer = createGroupCommitter(ctx.repo.transaction, () => commits++);
    ctx.database.close();
    const results = await Promise.allSettled([
      committer.run(() => ctx.repo.save({ ...task, progress: 10, revision: 2 })),
      committer.run(() => 'read-only work'),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(commits).toBe(0);
  });

  it('flush commits what is queued before it returns, and answers its callers; an idle flush commits nothing', async () => {
    ctx = createTestService();
    const task = await ctx.tasks.create(me, { kind: 'g', maxAttempts: 1 });
    let commits = 0;
    const committer = createGroupCommitter(ctx.repo.transaction, () => commits++);
    const saved = committer.run(() => {
      ctx.repo.save({ ...task, progress: 10, revision: 2 });
      return 'saved';
    });
    committer.flush();
    expect(ctx.repo.get(task.id)?.progress).toBe(10);
    expect(commits).toBe(1);
    expect(await saved).toBe('saved');
    committer.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(commits).toBe(1);
  });
});
