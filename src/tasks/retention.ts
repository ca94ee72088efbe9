import type { TaskStore } from './store.js';

const RETENTION_BATCH = 1_000;

/** Deletes finished tasks older than `retentionHours`, in batches. */
export function createRetention({ store, clock, retentionHours }: { store: TaskStore; clock: () => Date; retentionHours: number }) {
  return {
    async purge(): Promise<void> {
      const before = clock().getTime() - retentionHours * 3_600_000;
      while ((await store.deleteFinishedBefore(before, RETENTION_BATCH)) === RETENTION_BATCH);
    },
  };
}
