import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as tables from './tables.js';

export type PgDb = NodePgDatabase<typeof tables> & { $client: pg.Pool };

export interface PgClient {
  db: PgDb;
  pool: pg.Pool;
  /** True while the server answers a query. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schema/migrations-pg');

/** Any constant works; it only has to be the same on every instance of this service. */
const MIGRATION_LOCK = 0x7a5c_0001;

/**
 * Connects a pool to PostgreSQL and applies pending migrations. Several instances may start
 * at once: an advisory lock lets one migrate while the others wait, then find nothing to do.
 */
export async function openPg({ url, maxConnections }: { url: string; maxConnections: number }): Promise<PgClient> {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // that would crash the process. The pool drops the client and the next query gets a new one.
  pool.on('error', () => {});
  const db = drizzle(pool, { schema: tables });
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await migrate(drizzle(client), { migrationsFolder });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  } catch (error) {
    // No pool left open by a start that failed.
    await pool.end().catch(() => {});
    throw error;
  }

  return {
    db,
    pool,
    async isReady() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}
