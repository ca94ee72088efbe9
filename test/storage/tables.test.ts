import { is, SQL } from 'drizzle-orm';
import { PgDialect, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { SQLiteSyncDialect, getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { taskFeeds as pgTaskFeeds, taskOutput as pgTaskOutput, taskTags as pgTaskTags, tasks as pgTasks } from '../../src/storage/postgres/tables.js';
import { taskFeeds as sqliteTaskFeeds, taskOutput as sqliteTaskOutput, taskTags as sqliteTaskTags, tasks as sqliteTasks } from '../../src/storage/sqlite/tables.js';
import { TASK_STATUSES } from '../../src/tasks/task.js';

/*
 * The two engines' columns are written twice (Drizzle builds each dialect's columns with its
 * own functions), so this is what keeps them one definition: the same columns, each with
 * the same kind of value, nullability, key and default value. The indexes are written once
 * (src/storage/indexes.ts); this checks that each dialect built them alike: on the same
 * columns with the same uniqueness and condition.
 */

/** What a column holds, whatever the dialect calls it (its SQL type, from Drizzle's public API). */
function kind(sqlType: string): string {
  return /^(integer|bigint|bigserial)$/.test(sqlType) ? 'integer' : sqlType;
}

interface Shape {
  columns: Record<string, { kind: string; notNull: boolean; primary: boolean; hasDefault: boolean; default: string | null; enumValues: unknown }>;
  indexes: Record<string, { columns: string[]; unique: boolean; where: string | null }>;
}

/** The condition of a partial index, as each dialect writes it. */
const whereText = (where: SQL | undefined, dialect: SQLiteSyncDialect | PgDialect): string | null => (where ? dialect.sqlToQuery(where).sql : null);

/** A column's default as the migration writes it: an SQL expression in the dialect's text, a value as JSON (so '[]' and 0 differ from '{}' and '0'). */
const defaultText = (value: unknown, dialect: SQLiteSyncDialect | PgDialect): string | null => {
  if (value === undefined) return null;
  return is(value, SQL) ? dialect.sqlToQuery(value).sql : JSON.stringify(value);
};

function shapeOf(
  config: ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>,
  dialect: SQLiteSyncDialect | PgDialect,
): Shape & { primaryKeys: string[][]; foreignKeys: string[] } {
  const columns: Shape['columns'] = {};
  for (const column of config.columns) {
    columns[column.name] = {
      kind: kind(column.getSQLType()),
      notNull: column.notNull,
      primary: column.primary,
      // A PostgreSQL bigserial is filled by its sequence; SQLite's seq is assigned by the store.
      hasDefault: column.hasDefault && column.getSQLType() !== 'bigserial',
      default: defaultText(column.default, dialect),
      enumValues: column.enumValues ?? null,
    };
  }
  const indexes: Shape['indexes'] = {};
  for (const index of config.indexes) {
    const { name, columns: on, unique, where } = index.config;
    indexes[name!] = { columns: on.map((column) => (column as { name: string }).name), unique: unique ?? false, where: whereText(where, dialect) };
  }
  const primaryKeys = config.primaryKeys.map((key) => key.columns.map((column) => column.name));
  const foreignKeys = config.foreignKeys.map((key) => {
    const { columns: from, foreignColumns: to } = key.reference();
    return `${from.map((column) => column.name).join()} → ${to.map((column) => column.name).join()} on delete ${key.onDelete}`;
  });
  return { columns, indexes, primaryKeys, foreignKeys };
}

describe('the tables of the two engines', () => {
  const sqlite = shapeOf(sqliteConfig(sqliteTasks), new SQLiteSyncDialect());
  const postgres = shapeOf(pgConfig(pgTasks), new PgDialect());

  it('have the same columns: name, kind of value, nullability, key, default, allowed values', () => {
    expect(Object.keys(sqlite.columns)).toHaveLength(25);
    expect([sqlite.columns.tags!.default, sqlite.columns.output_seq!.default]).toEqual(['"[]"', '0']);
    expect(postgres.columns).toEqual(sqlite.columns);
  });

  it('have the same indexes: name, columns in order, uniqueness and condition', () => {
    expect(Object.keys(sqlite.indexes)).toHaveLength(9);
    expect(sqlite.indexes.tasks_lease_idx!.where).toBe(`"tasks"."status" = 'RUNNING'`);
    expect(postgres.indexes).toEqual(sqlite.indexes);
  });

  it('index tags alike: task_tags with the same columns, keys and indexes, deleted with its task', () => {
    const sqliteTags = shapeOf(sqliteConfig(sqliteTaskTags), new SQLiteSyncDialect());
    const postgresTags = shapeOf(pgConfig(pgTaskTags), new PgDialect());
    expect(sqliteTags.foreignKeys).toEqual(['task_id → id on delete cascade']);
    expect(Object.keys(sqliteTags.indexes)).toEqual(['task_tags_tenant_tag_seq_idx', 'task_tags_tag_seq_idx']);
    expect(postgresTags).toEqual(sqliteTags);
  });

  it('keep output alike: task_output keyed by (task_id, seq), deleted with its task', () => {
    const sqliteOutput = shapeOf(sqliteConfig(sqliteTaskOutput), new SQLiteSyncDialect());
    const postgresOutput = shapeOf(pgConfig(pgTaskOutput), new PgDialect());
    expect(sqliteOutput.foreignKeys).toEqual(['task_id → id on delete cascade']);
    expect(sqliteOutput.primaryKeys).toEqual([['task_id', 'seq']]);
    expect(postgresOutput).toEqual(sqliteOutput);
  });

  it('keep the feeds alike: task_feeds, one position per tenant', () => {
    const sqliteFeeds = shapeOf(sqliteConfig(sqliteTaskFeeds), new SQLiteSyncDialect());
    expect(Object.keys(sqliteFeeds.columns)).toEqual(['tenant', 'position']);
    expect(sqliteFeeds.columns.tenant!.primary).toBe(true);
    expect(shapeOf(pgConfig(pgTaskFeeds), new PgDialect())).toEqual(sqliteFeeds);
  });

  it('take the statuses from the domain', () => {
    expect(sqlite.columns.status!.enumValues).toEqual([...TASK_STATUSES]);
  });
});
