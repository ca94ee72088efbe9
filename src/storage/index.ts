import type { TaskEvents } from '../tasks/events.js';
import type { TaskStore } from '../tasks/store.js';
import { openPostgresStorage, type PostgresOptions } from './postgres/index.js';
import { openSqliteStorage, type SqliteOptions } from './sqlite/index.js';

/** A number the engine reports about itself on `/metrics`. */
export interface StorageGauge {
  name: string;
  help: string;
  read(): number;
}

/** What storage reports that is not an error of a request: a failing background job, a WAL it cannot reset. */
export type StorageWarning = (message: string, details: Record<string, unknown>) => void;

/** The storage engine behind the service, whichever `url` names: the same shape for both. */
export interface Storage {
  engine: 'sqlite' | 'postgres';
  store: TaskStore;
  /**
   * Starts the engine's background work, tied to the service: SQLite's WAL guard and
   * checkpointer; on PostgreSQL, the listener that brings other instances' committed writes to
   * `events` and their leases to `onLease`. `close()` stops it.
   */
  start(events: TaskEvents, onLease: (expiresAt: number) => void): Promise<void>;
  /** The database answers (and, on PostgreSQL, this instance hears the others' writes). */
  isReady(): Promise<boolean>;
  /** The engine's own gauges, for `/metrics`. */
  gauges: readonly StorageGauge[];
  /** Commits what is queued, stops the background work and closes the database; later calls do nothing. */
  close(): Promise<void>;
}

/** Both engines' settings: which apply depends on the URL. */
export type StorageOptions = SqliteOptions & PostgresOptions;

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

/** Opens (and migrates) the database `url` names: a `postgres://` URL, else a SQLite file or `:memory:`. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  return isPostgresUrl(options.url) ? openPostgresStorage(options) : openSqliteStorage(options);
}
