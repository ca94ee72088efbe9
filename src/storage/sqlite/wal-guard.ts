import type { DbClient } from './connection.js';

export interface WalGuardOptions {
  database: Pick<DbClient, 'walBytes' | 'truncateWal'>;
  /** Above this size the guard checkpoints and truncates the WAL. In bytes. */
  maxBytes: number;
  /** How often to look. In ms. */
  intervalMs: number;
  onStarved: (walBytes: number) => void;
}

/**
 * Keeps the WAL bounded when readers in other processes keep SQLite's automatic checkpoints
 * from resetting it: every `intervalMs`, a WAL above `maxBytes` is checkpointed and truncated
 * as soon as no reader holds it (never blocking on one). `onStarved` hears of each miss.
 */
export function startWalGuard({ database, maxBytes, intervalMs, onStarved }: WalGuardOptions) {
  const check = (): boolean => {
    const size = database.walBytes();
    if (size <= maxBytes) return true;
    const truncated = database.truncateWal();
    if (!truncated) onStarved(size);
    return truncated;
  };
  const timer = setInterval(check, intervalMs).unref();
  return {
    /** Runs one check now; true when the WAL is (now) within bounds. */
    check,
    stop: () => clearInterval(timer),
  };
}
