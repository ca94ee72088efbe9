/**
 * Group commit: the writes that arrive within one turn of the event loop share one
 * transaction, so one fsync makes all of them durable. Each write runs in a savepoint of its
 * own, so a refused write rolls back alone; every caller is answered only after the shared
 * commit, in commit order.
 */
export interface GroupCommitter {
  run<T>(work: () => T): Promise<T>;
  /** Commits what is queued now, synchronously (shutdown). */
  flush(): void;
}

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * `transaction` must nest: an inner call is a savepoint of the outer one (better-sqlite3's do).
 * `onCommit` runs after each shared transaction commits, before its callers are answered.
 */
export function createGroupCommitter(transaction: <T>(work: () => T) => T, onCommit: () => void = () => {}): GroupCommitter {
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
    onCommit();
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  return {
    run<T>(work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as Pending['resolve'], reject });
        scheduled ??= setImmediate(flush);
      });
    },
    flush,
  };
}
