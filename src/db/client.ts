import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as tables from './tables.js';

export type Db = BetterSQLite3Database<typeof tables>;

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
  close(): void;
}

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../schema/migrations');

/** Opens the database, sets its pragmas and applies pending migrations (idempotent). */
export function openDb({ url, synchronous }: DbOptions): DbClient {
  if (url !== ':memory:') mkdirSync(dirname(resolve(url)), { recursive: true });
  const sqlite = new Database(url);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${synchronous}`);
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = drizzle(sqlite, { schema: tables });
  migrate(db, { migrationsFolder });
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
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}
