import type { Storage, StorageWarning } from '../index.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { openDb, type DbClient } from './connection.js';
import { createTaskRepository, type TaskRepository } from './repository.js';
import { createSqliteTaskStore, type SqliteTaskStore } from './store.js';
import { startWalGuard } from './wal-guard.js';

const WAL_CHECK_INTERVAL_MS = 10_000;
const CHECKPOINT_DELAY_MS = 250;

export interface SqliteOptions {
  /** A file path, or `:memory:`. */
  url: string;
  sqliteSynchronous: 'NORMAL' | 'FULL';
  /** Above this the WAL guard truncates the WAL, in bytes. */
  walMaxBytes: number;
  onWarning?: StorageWarning;
  /** Hears every commit (tests count them). */
  onCommit?: () => void;
}

/** SQLite storage, with what only tests of the engine itself reach into. */
export interface SqliteStorage extends Storage {
  store: SqliteTaskStore;
  database: DbClient;
  repo: TaskRepository;
}

export function openSqliteStorage({ url, sqliteSynchronous, walMaxBytes, onWarning = () => {}, onCommit }: SqliteOptions): SqliteStorage {
  const database = openDb({ url, synchronous: sqliteSynchronous });
  const repo = createTaskRepository(database.db);
  let checkpointer: Checkpointer | null = null;
  let walGuard: ReturnType<typeof startWalGuard> | null = null;
  let closed: Promise<void> | null = null;
  const store = createSqliteTaskStore(repo, {
    onCommit: () => {
      checkpointer?.noteCommit();
      onCommit?.();
    },
  });
  return {
    engine: 'sqlite',
    store,
    database,
    repo,
    async start() {
      if (walGuard || closed) return;
      walGuard = startWalGuard({
        database,
        maxBytes: walMaxBytes,
        intervalMs: WAL_CHECK_INTERVAL_MS,
        onStarved: (walBytes) => onWarning('the SQLite WAL is over its limit and a reader keeps it from being reset', { walBytes }),
      });
      // One file, one serving process: nothing to hear from others. A memory database has no WAL to checkpoint.
      if (url !== ':memory:') {
        checkpointer = startCheckpointer({
          path: url,
          synchronous: sqliteSynchronous,
          delayMs: CHECKPOINT_DELAY_MS,
          onError: (error) => onWarning('background WAL checkpoints', { err: error }),
        });
      }
    },
    isReady: async () => database.isReady(),
    gauges: [{ name: 'task_api_sqlite_wal_bytes', help: 'Size of the SQLite write-ahead log file.', read: database.walBytes }],
    close() {
      closed ??= (async () => {
        walGuard?.stop();
        if (database.sqlite.open) store.flush();
        await checkpointer?.close();
        database.close();
      })();
      return closed;
    },
  };
}
