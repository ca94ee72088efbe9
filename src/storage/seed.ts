import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { getTableColumns } from 'drizzle-orm';
import type { Task } from '../tasks/task.js';
import { TASK_INDEXES } from './indexes.js';
import { openPg } from './postgres/connection.js';
import * as pgTables from './postgres/tables.js';
import { toRow } from './rows.js';
import { openDb } from './sqlite/connection.js';
import { createTaskRepository, type TaskRepository } from './sqlite/repository.js';
import * as tables from './sqlite/tables.js';

/*
 * Bulk loading, for the benchmarks: tasks written straight into a database that no server has
 * open yet, after the real migrations, far faster than creating them one request at a time.
 * Nothing outside storage names a table or a column; this is what bench/ calls instead.
 */

/** What `seedSqlite` writes. */
export interface SqliteSeed {
  /**
   * `count` copies of `template` (a finished task, say) that only fill the table, made inside
   * SQLite by one INSERT … SELECT in which only the id differs, and the single-column UNIQUE
   * ones (`seq`), offset by the copy's number. Written first.
   */
  copies?: { template: Task; count: number; sampleSize: number };
  /** Tasks stored by the repository as a create stores them (seq, feed position, tags), in one transaction. */
  tasks?: readonly Task[];
}

export interface SqliteSeeded {
  /** `copies.sampleSize` of the copies' ids, picked at random (repeats possible). */
  sampleIds: string[];
}

/**
 * Writes `seed` into the SQLite file at `path` (created and migrated if new) with the durability
 * a bulk load can do without: no journal, no fsync, a 256 MiB cache, the copies' indexes
 * dropped and rebuilt around them, so 1,000,000 copies take seconds rather than minutes. The
 * file is left in WAL mode, as a server opens it.
 */
export function seedSqlite(path: string, seed: SqliteSeed): SqliteSeeded {
  openDb({ url: path, synchronous: 'NORMAL' }).close();
  const sqlite = new Database(path);
  try {
    sqlite.pragma('journal_mode = DELETE');
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('cache_size = -262144');
    const repo = createTaskRepository(drizzle(sqlite, { schema: tables }));
    const sampleIds = seed.copies ? insertCopies(sqlite, repo, seed.copies) : [];
    const { tasks = [] } = seed;
    repo.transaction(() => {
      for (const task of tasks) repo.insert(task);
    });
    return { sampleIds };
  } finally {
    sqlite.pragma('journal_mode = WAL');
    sqlite.close();
  }
}

function insertCopies(sqlite: Database.Database, repo: TaskRepository, { template, count, sampleSize }: NonNullable<SqliteSeed['copies']>): string[] {
  const columns = getTableColumns(tables.tasks);
  const idColumn = columns.id.name;
  const unique = new Set(TASK_INDEXES.filter((index) => index.unique && index.columns.length === 1).map((index) => columns[index.columns[0]].name));
  const names = Object.values(columns).map((column) => column.name);
  const select = names.map((name) => {
    if (name === idColumn) return `printf('f%08d', n.i) || substr(lower(hex(randomblob(7))), 1, 13)`;
    return unique.has(name) ? `t."${name}" + n.i` : `t."${name}"`;
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
         INSERT INTO tasks (${names.map((name) => `"${name}"`).join(', ')})
         SELECT ${select.join(', ')} FROM n, tasks AS t WHERE t."${idColumn}" = @template`,
      )
      .run({ count, template: template.id });
    sqlite.prepare(`DELETE FROM tasks WHERE "${idColumn}" = ?`).run(template.id);
    for (const { sql } of indexes) sqlite.exec(sql);
  })();
  const byRowid = sqlite.prepare(`SELECT "${idColumn}" FROM tasks WHERE rowid = ?`).pluck();
  return Array.from({ length: Math.min(sampleSize, count) }, () => byRowid.get(firstRowid + Math.floor(Math.random() * count)) as string);
}

/**
 * Gives task `taskId` of the SQLite file at `path` an output backlog of `chunks` chunks of
 * `chunkBytes` ASCII bytes each on stream `log` (seq 1 … chunks), and the totals that go with
 * them, in one transaction of one INSERT … SELECT. The task must have no output yet.
 */
export function seedSqliteOutput(path: string, { taskId, chunks, chunkBytes, at }: { taskId: string; chunks: number; chunkBytes: number; at: Date }): void {
  const sqlite = new Database(path);
  try {
    sqlite.transaction(() => {
      sqlite
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @chunks)
           INSERT INTO task_output (task_id, seq, stream, data, at) SELECT @taskId, i, 'log', substr(hex(zeroblob(@chunkBytes)), 1, @chunkBytes), @at FROM n`,
        )
        .run({ taskId, chunks, chunkBytes, at: at.getTime() });
      sqlite
        .prepare('UPDATE tasks SET output_seq = @chunks, output_bytes = @chunks * @chunkBytes WHERE id = @taskId')
        .run({ taskId, chunks, chunkBytes });
    })();
  } finally {
    sqlite.close();
  }
}

/**
 * The PostgreSQL twin of `seedSqlite`'s `tasks` (no copies, no output): applies the real
 * migrations to the database at `url`, inserts `tasks` as the store's rows in multi-row INSERTs
 * of 1,000 (their `seq` from the table's sequence; no feed positions or tags taken), then
 * ANALYZEs the table so the planner knows its size.
 */
export async function seedPostgres(url: string, tasks: readonly Task[]): Promise<void> {
  const database = await openPg({ url, maxConnections: 1 });
  try {
    for (let start = 0; start < tasks.length; start += 1_000) {
      const rows = tasks.slice(start, start + 1_000).map((task) => {
        const { seq: _assigned, ...row } = toRow(task);
        return row;
      });
      await database.db.insert(pgTables.tasks).values(rows);
    }
    await database.pool.query('ANALYZE tasks');
  } finally {
    await database.close();
  }
}
