import { createGroupCommitter } from './group-commit.js';
import type { TaskRepository } from './repository.js';
import type { StatusCounts, TaskStore } from './store.js';
import type { TaskStatus } from './task.js';

export interface SqliteTaskStore extends TaskStore {
  /** Commits the writes queued for the next group commit now (shutdown). */
  flush(): void;
}

/**
 * The task store on one SQLite file: the synchronous repository behind a group committer,
 * so the writes of one event-loop turn share a transaction (and an fsync), each in its own
 * savepoint. Reads are synchronous underneath and answer at once.
 *
 * This process is the file's only writer, so the count of tasks by status is taken once at
 * start (one index scan) and then kept by every commit: a scrape of `/metrics` must not block
 * the event loop for a scan of the table. `onCommit` hears of each commit.
 */
export function createSqliteTaskStore(repo: TaskRepository, { onCommit = () => {} }: { onCommit?: () => void } = {}): SqliteTaskStore {
  const commits = createGroupCommitter(repo.transaction, onCommit);
  const counts = repo.countByStatus();
  const moved = (from: TaskStatus | null, to: TaskStatus | null) => {
    if (from === to) return;
    if (from) counts[from]--;
    if (to) counts[to]++;
  };

  return {
    get: async (id) => repo.get(id),

    getMany: async (ids) => ids.flatMap((id) => repo.get(id) ?? []),

    list: async (filter) => repo.list(filter),

    async create(task) {
      const { stored, inserted } = await commits.run(() => {
        const existing = task.idempotencyKey ? repo.findByIdempotencyKey(task.tenant, task.idempotencyKey) : null;
        return existing ? { stored: existing, inserted: false } : { stored: repo.insert(task), inserted: true };
      });
      if (inserted) moved(null, stored.status);
      return stored;
    },

    async update(id, change) {
      const result = await commits.run(() => {
        const before = repo.get(id);
        const after = change(before);
        if (after !== before) repo.save(after);
        return { before, after };
      });
      moved(result.before?.status ?? null, result.after.status);
      return result;
    },

    async claim(tenant, kinds, change) {
      const claimed = await commits.run(() => {
        const task = repo.oldestQueued(tenant, kinds);
        if (!task) return null;
        const next = change(task);
        repo.save(next);
        return { before: task.status, next };
      });
      if (!claimed) return null;
      moved(claimed.before, claimed.next.status);
      return claimed.next;
    },

    async expireLeases(now, limit, change) {
      const expired = repo.transaction(() =>
        repo.expiredLeases(now, limit).map((task) => {
          const next = change(task);
          repo.save(next);
          return { before: task.status, next };
        }),
      );
      if (expired.length > 0) onCommit();
      for (const { before, next } of expired) moved(before, next.status);
      return expired.map(({ next }) => next);
    },

    nextLeaseExpiry: async () => repo.nextLeaseExpiry(),

    async deleteFinishedBefore(before, limit) {
      const deleted = repo.deleteFinishedBefore(before, limit);
      if (deleted.length > 0) onCommit();
      for (const status of deleted) moved(status, null);
      return deleted.length;
    },

    countByStatus: async (): Promise<StatusCounts> => ({ ...counts }),

    flush: commits.flush,
  };
}
