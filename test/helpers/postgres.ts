/**
 * The test PostgreSQL server started by test/setup/postgres.ts (or given by TEST_POSTGRES_URL).
 *
 *   describeWithPostgres('my suite', () => {
 *     let db: Awaited<ReturnType<typeof freshDatabase>>;
 *     beforeEach(async () => { db = await freshDatabase(); });
 *     afterEach(() => db.drop());
 *   });
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, inject } from 'vitest';

/** Superuser URL of the test server, or null when there is none. */
export const postgresUrl = inject('postgresUrl');

/** Why the PostgreSQL tests are skipped in this run; null when a server is there. */
export const postgresMissing = postgresUrl
  ? null
  : 'skipped: no PostgreSQL server (install Debian\'s postgresql, or set TEST_POSTGRES_URL; CI sets REQUIRE_POSTGRES=1)';

/**
 * `describe` for suites that need PostgreSQL. Without a server its tests are reported as
 * skipped, with the reason in the suite's name, never left out.
 */
export function describeWithPostgres(name: string, suite: () => void): void {
  describe.skipIf(postgresMissing !== null)(postgresMissing ? `${name} (${postgresMissing})` : name, suite);
}

/** Runs one statement on the server's admin connection. */
async function admin(sql: string): Promise<void> {
  if (!postgresUrl) throw new Error('No test PostgreSQL server (use describeWithPostgres).');
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database with a random name on the test server: its URL, and `drop()`, which
 * removes it even if connections are still open.
 */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `test_${randomBytes(8).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(postgresUrl!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
