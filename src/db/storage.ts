import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { TaskEvents } from '../tasks/events.js';
import { startCrossInstanceEvents, type CrossInstanceEvents } from '../tasks/pg-events.js';
import { createPgTaskStore } from '../tasks/pg-store.js';
import { createTaskRepository } from '../tasks/repository.js';
import { createSqliteTaskStore } from '../tasks/sqlite-store.js';
import type { TaskStore } from '../tasks/store.js';
import { startCheckpointer } from './checkpointer.js';
import { openDb } from './client.js';
import { openPg } from './pg-client.js';
import { startWalGuard } from './wal-guard.js';

const WAL_CHECK_INTERVAL_MS = 10_000;
const CHECKPOINT_DELAY_MS = 250;

/** The storage engine behind the service, whichever `DATABASE_URL` names. */
export interface Storage {
  engine: 'sqlite' | 'postgres';
  store: TaskStore;
  /**
   * Brings other instances' committed writes to `events`, and their leases to `onLease`
   * (PostgreSQL; one SQLite file has one serving process, so there it does nothing).
   */
  shareEvents(events: TaskEvents, onLease: (expiresAt: number) => void): Promise<void>;
  /** The database answers, and (PostgreSQL) this instance hears the others' writes. */
  isReady(): Promise<boolean>;
  /** Size of SQLite's write-ahead log in bytes; 0 on PostgreSQL. */
  walBytes(): number;
  /** Commits what is queued and closes the database; later calls do nothing. */
  close(): Promise<void>;
}

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

export async function openStorage(config: Readonly<Config>, log: Logger): Promise<Storage> {
  return isPostgresUrl(config.databaseUrl) ? openPostgresStorage(config, log) : openSqliteStorage(config, log);
}

function openSqliteStorage(config: Readonly<Config>, log: Logger): Storage {
  const database = openDb({ url: config.databaseUrl, synchronous: config.sqliteSynchronous });
  const walGuard = startWalGuard({
    database,
    maxBytes: config.walMaxBytes,
    intervalMs: WAL_CHECK_INTERVAL_MS,
    onStarved: (walBytes) => log.warn({ walBytes }, 'the SQLite WAL is over its limit and a reader keeps it from being reset'),
  });
  const checkpointer =
    config.databaseUrl === ':memory:'
      ? null
      : startCheckpointer({
          path: config.databaseUrl,
          synchronous: config.sqliteSynchronous,
          delayMs: CHECKPOINT_DELAY_MS,
          onError: (error) => log.warn({ err: error }, 'background WAL checkpoints'),
        });
  const store = createSqliteTaskStore(createTaskRepository(database.db), { onCommit: checkpointer?.noteCommit });
  return {
    engine: 'sqlite',
    store,
    shareEvents: async () => {},
    isReady: async () => database.isReady(),
    walBytes: database.walBytes,
    async close() {
      walGuard.stop();
      if (database.sqlite.open) store.flush();
      await checkpointer?.close();
      database.close();
    },
  };
}

async function openPostgresStorage(config: Readonly<Config>, log: Logger): Promise<Storage> {
  const database = await openPg({ url: config.databaseUrl, maxConnections: config.databasePoolSize });
  const origin = randomBytes(8).toString('hex');
  const store = createPgTaskStore(database.db, { origin });
  let shared: CrossInstanceEvents | null = null;
  let closed: Promise<void> | null = null;
  return {
    engine: 'postgres',
    store,
    async shareEvents(events, onLease) {
      shared = await startCrossInstanceEvents({
        url: config.databaseUrl,
        origin,
        events,
        store,
        onLease,
        resyncIntervalMs: config.eventResyncMs,
        onError: (error, context) => log.warn({ err: error, context }, 'cross-instance events'),
      });
    },
    isReady: async () => (shared?.isListening() ?? true) && (await database.isReady()),
    walBytes: () => 0,
    close() {
      closed ??= (async () => {
        await shared?.close();
        await database.close();
      })();
      return closed;
    },
  };
}
