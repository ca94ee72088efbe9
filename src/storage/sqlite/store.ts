import { createGroupCommitter } from './group-commit.js';
import { queueFull } from '../../tasks/quotas.js';
import type { TaskRepository } from './repository.js';
import type { StatusCounts, TaskStore } from '../../tasks/store.js';
import type { Task, TaskStatus } from '../../tasks/task.js';

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
 * the event loop for a scan of the table. So is the count of QUEUED tasks per tenant, which
 * `create` checks against `maxQueued` inside its transaction: counted there, creates that share
 * a group commit cannot pass the cap together. `onCommit` hears of each commit.
 */
export function createSqliteTaskStore(repo: TaskRepository, { onCommit = () => {} }: { onCommit?: () => void } = {}): SqliteTaskStore {
  const commits = createGroupCommitter(repo.transaction, onCommit);
  const counts = repo.countByStatus();
  const moved = (from: TaskStatus | null, to: TaskStatus | null) => {
    if (from === to) return;
    if (from) counts[from]--;
    if (to) counts[to]++;
  };
  const queued = repo.queuedByTenant();
  const addQueued = (tenant: string, delta: number) => {
    const count = (queued.get(tenant) ?? 0) + delta;
    if (count === 0) queued.delete(tenant);
    else queued.set(tenant, count);
  };
  /** A committed change of a task's status, for the count of QUEUED tasks (creates count themselves). */
  const requeued = (tenant: string, from: TaskStatus | null, to: TaskStatus) => {
    if (from === to) return;
    if (from === 'QUEUED') addQueued(tenant, -1);
    if (to === 'QUEUED') addQueued(tenant, 1);
  };

  /** The task at the next position of its tenant's feed (inside a write's transaction: one writer, so positions commit in order). */
  const advanced = (task: Task): Task => ({ ...task, feedPos: repo.nextFeedPosition(task.tenant) });

  return {
    get: async (id) => repo.get(id),

    getMany: async (ids) => ids.flatMap((id) => repo.get(id) ?? []),

    list: async (filter) => repo.list(filter),

    changesOfKinds: async (tenant, after, limit, kinds) => repo.changesOfKinds(tenant, after, limit, kinds),

    feedPosition: async (tenant) => repo.feedPosition(tenant),

    async create(task, { maxQueued } = {}) {
      // Counted when inserted, in the transaction; given back if that transaction fails.
      let counted = false;
      try {
        const { stored, inserted } = await commits.run(() => {
          const existing = task.idempotencyKey ? repo.findByIdempotencyKey(task.tenant, task.idempotencyKey) : null;
          if (existing) return { stored: existing, inserted: false };
          if (maxQueued !== undefined && (queued.get(task.tenant) ?? 0) >= maxQueued) throw queueFull(maxQueued);
          const row = repo.insert(task);
          addQueued(task.tenant, 1);
          counted = true;
          return { stored: row, inserted: true };
        });
        if (inserted) moved(null, stored.status);
        return stored;
      } catch (error) {
        if (counted) addQueued(task.tenant, -1);
        throw error;
      }
    },

    async update(id, change) {
      const result = await commits.run(() => {
        const before = repo.get(id);
        const changed = change(before);
        if (changed === before) return { before, after: changed };
        // A lease extension (a heartbeat) is not a change: it keeps its place in the feed.
        const after = changed.revision === before?.revision ? changed : advanced(changed);
        repo.save(after);
        return { before, after };
      });
      moved(result.before?.status ?? null, result.after.status);
      requeued(result.after.tenant, result.before?.status ?? null, result.after.status);
      return result;
    },

    appendOutput: (id, chunk, check) =>
      commits.run(() => {
        check(repo.outputTarget(id));
        return repo.appendOutput(id, chunk);
      }),

    readOutput: async (id, after, limit, budget) => repo.readOutput(id, after, limit, budget),

    async claim(tenant, kinds, change) {
      const claimed = await commits.run(() => {
        const task = repo.oldestQueued(tenant, kinds);
        if (!task) return null;
        const next = advanced(change(task));
        repo.save(next);
        return { before: task.status, next };
      });
      if (!claimed) return null;
      moved(claimed.before, claimed.next.status);
      requeued(claimed.next.tenant, claimed.before, claimed.next.status);
      return claimed.next;
    },

    async expireLeases(now, limit, change) {
      const expired = repo.transaction(() =>
        repo.expiredLeases(now, limit).map((task) => {
          const next = advanced(change(task));
          repo.save(next);
          return { before: task.status, next };
        }),
      );
      if (expired.length > 0) onCommit();
      for (const { before, next } of expired) {
        moved(before, next.status);
        requeued(next.tenant, before, next.status);
      }
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
