/**
 * `/readyz` answers 503 once the database is gone, while `/healthz` (liveness) stays 200.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { useApps } from '../helpers/app.js';
import { describeWithPostgres, freshDatabase } from '../helpers/postgres.js';

let dir: string | undefined;
// Registered before useApps, so it runs after the app is closed (after-hooks run last registered first).
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const apps = useApps();

const probe = async (url: string, path: '/readyz' | '/healthz') => {
  const response = await fetch(`${url}${path}`);
  return { status: response.status, body: await response.json() };
};

describe('readiness on SQLite', () => {
  it('ready while the database answers; 503 once it is closed under the running app; liveness unaffected', async () => {
    const t = await apps.start({ DATABASE_URL: ':memory:' });
    expect(await probe(t.url, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    await t.app.storage.close();
    expect(await probe(t.url, '/readyz')).toEqual({ status: 503, body: { status: 'unavailable' } });
    expect(await probe(t.url, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('503 when the file no longer holds the applied migrations (the schema is gone)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'readyz-'));
    const file = join(dir, 'tasks.db');
    const t = await apps.start({ DATABASE_URL: file });
    expect((await probe(t.url, '/readyz')).status).toBe(200);
    // Another process (here: another connection) wipes the schema out from under the server.
    const other = new Database(file);
    try {
      other.exec('DROP TABLE __drizzle_migrations');
    } finally {
      other.close();
    }
    expect(await probe(t.url, '/readyz')).toEqual({ status: 503, body: { status: 'unavailable' } });
    expect((await probe(t.url, '/healthz')).status).toBe(200);
  });
});

describeWithPostgres('readiness on PostgreSQL', () => {
  it('ready while the database answers; 503 once it is dropped under the running app; liveness unaffected', async () => {
    const database = await freshDatabase();
    try {
      const t = await apps.start({ DATABASE_URL: database.url });
      expect(await probe(t.url, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
      // DROP … WITH (FORCE) ends the app's connections (its pool's and its listener's) and
      // removes the database: nothing it reconnects to.
      await database.drop();
      await expect.poll(async () => (await probe(t.url, '/readyz')).status).toBe(503);
      expect(await probe(t.url, '/readyz')).toEqual({ status: 503, body: { status: 'unavailable' } });
      expect(await probe(t.url, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      await database.drop();
    }
  });
});
