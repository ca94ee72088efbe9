/**
 * Group commit: the writes that arrive within one turn of the event loop share one
 * transaction, so one fsync makes all of them durable. Each write runs in a savepoint of its
 * own, so a refused write rolls back alone; every caller is answered only after the shared
 * commit, and `committed` callbacks (publishing the new rows) run in commit order.
 */
export interface GroupCommitter {
  run<T>(work: () => T, committed?: (value: T) => void): Promise<T>;
  /** Commits what is queued now, synchronously (shutdown). */
  flush(): void;
}

interface Pending {
  work: () => unknown;
  committed?: (value: unknown) => void;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** `transaction` must nest: an inner call is a savepoint of the outer one (better-sqlite3's do). */
export function createGroupCommitter(
  transaction: <T>(work: () => T) => T,
  onCallbackError: (error: unknown) => void,
): GroupCommitter {
  let queue: Pending[] = [];
  let scheduled: NodeJS.Immediate | null = null;

  function flush(): void {
    if (scheduled) clearImmediate(scheduled);
    scheduled = null;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = transaction(() =>
        batch.map((item): Outcome => {
          try {
            return { ok: true, value: transaction(item.work) };
          } catch (error) {
            return { ok: false, error };
          }
        }),
      );
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) return item.reject(outcome.error);
      try {
        item.committed?.(outcome.value);
      } catch (error) {
        onCallbackError(error);
      }
      item.resolve(outcome.value);
    });
  }

  return {
    run<T>(work: () => T, committed?: (value: T) => void): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, committed: committed as Pending['committed'], resolve: resolve as Pending['resolve'], reject });
        scheduled ??= setImmediate(flush);
      });
    },
    flush,
  };
}
