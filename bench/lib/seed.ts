import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { openDb } from '../../src/storage/sqlite/connection.js';
import { openPg } from '../../src/storage/postgres/connection.js';
import * as pgTables from '../../src/storage/postgres/tables.js';
import * as tables from '../../src/storage/sqlite/tables.js';
import { toRow } from '../../src/storage/rows.js';
import { createTaskRepository, type TaskRepository } from '../../src/storage/sqlite/repository.js';
import * as machine from '../../src/tasks/task.js';

/** The tenant of a server without API keys (`OPEN_PRINCIPAL`), so seeded tasks are visible to it. */
const TENANT = 'default';
const WORKER = 'bench-worker';
/** Leases of seeded RUNNING tasks outlast any run, so the lease timer never touches them. */
const LEASE_SECONDS = 24 * 3600;

export type LiveStatus = 'QUEUED' | 'RUNNING';

export interface SeedSpec {
  /** Tasks made by the real state machine and inserted by the real repository: QUEUED, or RUNNING (claimed, ready for worker writes). */
  live?: { status: LiveStatus; count: number };
  /** COMPLETED tasks that only fill the table, copied in bulk inside SQLite. */
  filler?: number;
  /** How many filler ids to return, picked at random. @default 0 */
  fillerSample?: number;
}

export interface Seeded {
  /** The live tasks' ids, in creation order. */
  liveIds: string[];
  /** A random sample of the filler tasks' ids. */
  fillerIds: string[];
}

/** A task id shaped like the server's: 128 random bits, base64url (22 characters). */
const newId = () => randomBytes(16).toString('base64url');

/**
 * Writes tasks straight into the database file at `path` before any server opens it, after
 * the real migrations (`openDb`). Live tasks go through the state machine and the repository;
 * filler rows are copies of one such finished task made by a single INSERT … SELECT in which
 * only the id (and any other column with a UNIQUE index of its own, offset by the copy's
 * number) differs, with the indexes dropped and rebuilt around it: 1,000,000 rows take
 * seconds rather than minutes.
 */
export function seedDatabase(path: string, spec: SeedSpec): Seeded {
  openDb({ url: path, synchronous: 'NORMAL' }).close();
  const sqlite = new Database(path);
  try {
    sqlite.pragma('journal_mode = DELETE');
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('cache_size = -262144');
    const repo = createTaskRepository(drizzle(sqlite, { schema: tables }));
    const fillerIds = spec.filler ? insertFiller(sqlite, repo, spec.filler, spec.fillerSample ?? 0) : [];
    const liveIds = spec.live ? insertLive(repo, spec.live.status, spec.live.count) : [];
    return { liveIds, fillerIds };
  } finally {
    sqlite.pragma('journal_mode = WAL');
    sqlite.close();
  }
}

/**
 * The PostgreSQL twin of `seedDatabase` (live tasks only): applies the real migrations
 * (`openPg`) to the empty database at `url`, then inserts the tasks that the state machine
 * makes, as the store's rows (`toRow`), in multi-row INSERTs, before any server starts.
 */
export async function seedPostgres(url: string, live: { status: LiveStatus; count: number }): Promise<Seeded> {
  const database = await openPg({ url, maxConnections: 1 });
  try {
    const at = new Date();
    const tasks = Array.from({ length: live.count }, () => liveTask(live.status, at));
    for (let start = 0; start < tasks.length; start += 1_000) {
      const rows = tasks.slice(start, start + 1_000).map((task) => {
        const { seq: _assigned, ...row } = toRow(task);
        return row;
      });
      await database.db.insert(pgTables.tasks).values(rows);
    }
    await database.pool.query('ANALYZE tasks');
    return { liveIds: tasks.map((task) => task.id), fillerIds: [] };
  } finally {
    await database.close();
  }
}

function liveTask(status: LiveStatus, at: Date): machine.Task {
  const queued = machine.createTask(
    { id: newId(), tenant: TENANT, kind: 'bench.live', input: { bench: true }, idempotencyKey: null, maxAttempts: 3 },
    at,
  );
  return status === 'QUEUED' ? queued : machine.claim(queued, WORKER, LEASE_SECONDS, at);
}

function insertLive(repo: TaskRepository, status: LiveStatus, count: number): string[] {
  const at = new Date();
  return repo.transaction(() =>
    Array.from({ length: count }, () => {
      const task = liveTask(status, at);
      repo.insert(task);
      return task.id;
    }),
  );
}

/**
 * Columns (other than the id) that a single-column UNIQUE index covers, e.g. an insertion
 * sequence: copies of the template must not repeat its value there.
 */
function uniqueColumns(sqlite: Database.Database, idColumn: string): string[] {
  const indexes = sqlite.pragma('index_list(tasks)') as { name: string; unique: number }[];
  return indexes
    .filter(({ unique }) => unique === 1)
    .map(({ name }) => sqlite.pragma(`index_info("${name}")`) as { name: string | null }[])
    .filter((columns) => columns.length === 1 && columns[0]!.name !== null && columns[0]!.name !== idColumn)
    .map((columns) => columns[0]!.name!);
}

function insertFiller(sqlite: Database.Database, repo: TaskRepository, count: number, sampleSize: number): string[] {
  const at = new Date();
  const template = machine.complete(liveTask('RUNNING', at), { bench: true }, WORKER, at);
  const idColumn = tables.tasks.id.name;
  const unique = new Set(uniqueColumns(sqlite, idColumn));
  const columns = (sqlite.pragma('table_info(tasks)') as { name: string }[]).map(({ name }) => name);
  const select = columns.map((column) => {
    if (column === idColumn) return `printf('f%08d', n.i) || substr(lower(hex(randomblob(7))), 1, 13)`;
    return unique.has(column) ? `t."${column}" + n.i` : `t."${column}"`;
  });
  const indexes = sqlite
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL")
    .all() as { name: string; sql: string }[];
  let firstRowid = 0;
  sqlite.transaction(() => {
    repo.insert(template);
    firstRowid = (sqlite.prepare('SELECT max(rowid) FROM tasks').pluck().get() as number) + 1;
    for (const { name } of indexes) sqlite.exec(`DROP INDEX "${name}"`);
    sqlite
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
         INSERT INTO tasks (${columns.map((column) => `"${column}"`).join(', ')})
         SELECT ${select.join(', ')} FROM n, tasks AS t WHERE t."${idColumn}" = @template`,
      )
      .run({ count, template: template.id });
    sqlite.prepare(`DELETE FROM tasks WHERE "${idColumn}" = ?`).run(template.id);
    for (const { sql } of indexes) sqlite.exec(sql);
  })();
  const byRowid = sqlite.prepare(`SELECT "${idColumn}" FROM tasks WHERE rowid = ?`).pluck();
  return Array.from({ length: Math.min(sampleSize, count) }, () => byRowid.get(firstRowid + Math.floor(Math.random() * count)) as string);
}
