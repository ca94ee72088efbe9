import { createGroupCommitter } from './group-commit.js';
import type { TaskRepository } from './repository.js';
import type { TaskStore } from './store.js';

export interface SqliteTaskStore extends TaskStore {
  /** Commits the writes queued for the next group commit now (shutdown). */
  flush(): void;
}

/**
 * The task store on one SQLite file: the synchronous repository behind a group committer,
 * so the writes of one event-loop turn share a transaction (and an fsync), each in its own
 * savepoint. Reads are synchronous underneath and answer at once.
 */
export function createSqliteTaskStore(repo: TaskRepository): SqliteTaskStore {
  const commits = createGroupCommitter(repo.transaction);

  return {
    get: async (id) => repo.get(id),

    getMany: async (ids) => ids.flatMap((id) => repo.get(id) ?? []),

    list: async (filter) => repo.list(filter),

    create: (task) =>
      commits.run(
        () => (task.idempotencyKey ? repo.findByIdempotencyKey(task.tenant, task.idempotencyKey) : null) ?? repo.insert(task),
      ),

    update: (id, change) =>
      commits.run(() => {
        const before = repo.get(id);
        const after = change(before);
        if (after !== before) repo.save(after);
        return { before, after };
      }),

    claim: (tenant, kinds, change) =>
      commits.run(() => {
        const task = repo.oldestQueued(tenant, kinds);
        if (!task) return null;
        const next = change(task);
        repo.save(next);
        return next;
      }),

    expireLeases: async (now, limit, change) =>
      repo.transaction(() => {
        const expired = repo.expiredLeases(now, limit).map(change);
        expired.forEach(repo.save);
        return expired;
      }),

    nextLeaseExpiry: async () => repo.nextLeaseExpiry(),

    deleteFinishedBefore: async (before, limit) => repo.deleteFinishedBefore(before, limit),

    flush: commits.flush,
  };
}
