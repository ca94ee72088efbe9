import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, expect, it, vi } from 'vitest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { describeWithPostgres, freshDatabase, postgresUrl } from './helpers/postgres.js';

/*
 * createApp either returns an app, whose close() stops everything, or fails having closed what
 * it opened: no connection, pool, timer or file left behind by a start that did not happen.
 */

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('a dashboard build it cannot read fails the start before any database is opened', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-failure-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const notADirectory = join(dir, 'dist');
  writeFileSync(notADirectory, 'a file where the build should be');
  const database = join(dir, 'tasks.db');
  await expect(createApp(loadConfig({ DATABASE_URL: database }), { log: silent, dashboardDir: notADirectory })).rejects.toThrow(/ENOTDIR/);
  expect(() => writeFileSync(`${database}`, '', { flag: 'wx' })).not.toThrow();
});

it('a step that fails after the task service started (a CORS origin that is no URL) stops the service and closes SQLite: no timer left, the file opens again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-failure-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const database = join(dir, 'tasks.db');
  const config = loadConfig({ DATABASE_URL: database });
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  cleanups.push(() => void vi.useRealTimers());
  const timersBefore = vi.getTimerCount();

  // loadConfig refuses such a list; createApp takes the Config it is given, and checks it only where it uses it.
  await expect(createApp({ ...config, corsOrigins: ['not an origin'] }, { log: silent })).rejects.toThrow(/Invalid URL/);
  // The housekeeping interval and the WAL check were started, and stopped again.
  expect(vi.getTimerCount() - timersBefore).toBe(0);
  // SQLite removes the write-ahead log when the last connection to the file closes.
  expect(existsSync(`${database}-wal`)).toBe(false);
  const file = new Database(database);
  // Migrated: the start got as far as the database.
  expect(file.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBeGreaterThan(0);
  file.close();

  vi.useRealTimers();
  const app = await createApp(config, { log: silent });
  await app.close(0);
  expect(existsSync(`${database}-wal`)).toBe(false);
});

describeWithPostgres('a start that fails on PostgreSQL', () => {
  it('when the listener cannot connect, the pool is closed too: no connection is left to the database', async () => {
    const db = await freshDatabase();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const name = new URL(db.url).pathname.slice(1);
    // The app's own role, allowed one connection: the pool's (migrations) and not the
    // listener's. A real refusal by the server; superusers would be exempt from it.
    const role = `${name}_app`;
    await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'app' CONNECTION LIMIT 1`);
    await admin.query(`ALTER DATABASE "${name}" OWNER TO "${role}"`);
    cleanups.push(async () => {
      await admin.end();
      await db.drop();
      const server = new pg.Client({ connectionString: postgresUrl! });
      await server.connect();
      await server.query(`DROP ROLE IF EXISTS "${role}"`);
      await server.end();
    });
    const url = new URL(db.url);
    url.username = role;
    url.password = 'app';
    const connections = async () =>
      Number((await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1', [role])).rows[0].n);

    await expect(createApp(loadConfig({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '1' }), { log: silent })).rejects.toThrow(/too many connections/);
    await expect.poll(connections, { timeout: 5_000 }).toBe(0);
  });
});
