import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as tables from './tables.js';

export type Db = BetterSQLite3Database<typeof tables> & { $client: Database.Database };

export interface DbOptions {
  /** A file path, or `:memory:`. */
  url: string;
  /** SQLite's `synchronous` pragma in WAL mode: FULL survives power loss, NORMAL only a process crash. */
  synchronous: 'FULL' | 'NORMAL';
}

export interface DbClient {
  db: Db;
  sqlite: Database.Database;
  /** True while the file answers a query and the migrations are applied. */
  isReady(): boolean;
  /** Size of the write-ahead log file in bytes (0 for `:memory:`). */
  walBytes(): number;
  /**
   * Checkpoints the WAL and truncates it, without waiting: returns false when a reader
   * (in this process or another) still needs the log, so it could not be reset now.
   */
  truncateWal(): boolean;
  close(): void;
}

/** After a checkpoint SQLite trims the WAL file back to this size. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schema/migrations');

/** Opens the database, sets its pragmas and applies pending migrations (idempotent). */
export function openDb({ url, synchronous }: DbOptions): DbClient {
  if (url !== ':memory:') mkdirSync(dirname(resolve(url)), { recursive: true });
  const sqlite = new Database(url);
  const db = drizzle(sqlite, { schema: tables });
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${synchronous}`);
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    migrate(db, { migrationsFolder });
  } catch (error) {
    // No handle left open (and the file locked) by a start that failed.
    sqlite.close();
    throw error;
  }
  const readyCheck = sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations');

  return {
    db,
    sqlite,
    isReady() {
      try {
        return sqlite.open && (readyCheck.get() as { n: number }).n > 0;
      } catch {
        return false;
      }
    },
    walBytes() {
      if (url === ':memory:') return 0;
      try {
        return statSync(`${url}-wal`).size;
      } catch {
        return 0;
      }
    },
    truncateWal() {
      const busyTimeout = sqlite.pragma('busy_timeout', { simple: true }) as number;
      sqlite.pragma('busy_timeout = 0');
      try {
        const [result] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        return result?.busy === 0;
      } finally {
        sqlite.pragma(`busy_timeout = ${busyTimeout}`);
      }
    },
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}
