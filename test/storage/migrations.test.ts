import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, expect, it } from 'vitest';
import { openDb } from '../../src/storage/sqlite/connection.js';

const MIGRATIONS = 'schema/migrations';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A copy of the SQLite migrations that stops before the one tagged `beforeTag`. */
function migrationsBefore(root: string, beforeTag: string): string {
  const folder = join(root, 'migrations');
  cpSync(MIGRATIONS, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((entry) => entry.tag === beforeTag);
  expect(at, `migration ${beforeTag}`).toBeGreaterThan(0);
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return folder;
}

it('tasks stored before change feeds enter their tenant\'s feed in creation order, and each tenant\'s counter starts after them', () => {
  dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  const url = join(dir, 'tasks.db');
  const old = new Database(url);
  migrate(drizzle(old), { migrationsFolder: migrationsBefore(dir, '0004_task_feeds') });
  const insert = old.prepare(
    `INSERT INTO tasks (id, seq, tenant, kind, status, progress, attempts, max_attempts, revision, created_at, updated_at)
     VALUES (?, ?, ?, 'k', 'QUEUED', 0, 0, 3, 1, 0, 0)`,
  );
  // Interleaved tenants, inserted out of seq order: positions follow seq within each tenant.
  for (const [id, seq, tenant] of [['a2', 3, 'a'], ['b1', 2, 'b'], ['a1', 1, 'a'], ['a3', 4, 'b'], ['b2', 5, 'a']] as const) insert.run(id, seq, tenant);
  old.close();

  const current = openDb({ url, synchronous: 'NORMAL' });
  try {
    const positions = current.sqlite.prepare('SELECT id, tenant, feed_pos AS pos FROM tasks ORDER BY tenant, feed_pos').all();
    expect(positions).toEqual([
      { id: 'a1', tenant: 'a', pos: 1 },
      { id: 'a2', tenant: 'a', pos: 2 },
      { id: 'b2', tenant: 'a', pos: 3 },
      { id: 'b1', tenant: 'b', pos: 1 },
      { id: 'a3', tenant: 'b', pos: 2 },
    ]);
    expect(current.sqlite.prepare('SELECT tenant, position FROM task_feeds ORDER BY tenant').all()).toEqual([
      { tenant: 'a', position: 3 },
      { tenant: 'b', position: 2 },
    ]);
  } finally {
    current.close();
  }
});
