import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/storage/sqlite/connection.js';
import { createTaskRepository } from '../../src/storage/sqlite/repository.js';
import { createTask } from '../../src/tasks/task.js';

let close = () => {};
afterEach(() => close());

/**
 * Every statement the repository prepares, captured as it prepares it (at creation and on first
 * use of each shape), after every method has run once with each shape of filter the service uses.
 */
function repositoryStatements() {
  const database = openDb({ url: ':memory:', synchronous: 'NORMAL' });
  close = database.close;
  // Each statement with the values it first ran with: a partial index is chosen by the values bound.
  const seen = new Map<string, unknown[]>();
  const prepare = database.sqlite.prepare.bind(database.sqlite);
  database.sqlite.prepare = ((source: string) => {
    const statement = prepare(source);
    for (const method of ['all', 'get', 'run', 'iterate'] as const) {
      const original = statement[method].bind(statement) as (...params: unknown[]) => never;
      Object.assign(statement, {
        [method]: (...params: unknown[]) => {
          if (!seen.has(source)) seen.set(source, params);
          return original(...params);
        },
      });
    }
    return statement;
  }) as typeof database.sqlite.prepare;
  const repo = createTaskRepository(database.db);
  const task = repo.insert(createTask({ id: 'x', tenant: 't', kind: 'k', tags: ['g'], input: null, idempotencyKey: 'key', maxAttempts: 1 }, new Date()));
  repo.save({ ...task, progress: 1 });
  repo.get('x');
  repo.findByIdempotencyKey('t', 'k');
  repo.oldestQueued('t', null);
  repo.oldestQueued('t', ['a']);
  repo.oldestQueued('t', ['a', 'b']);
  for (const tenant of ['t', null]) {
    for (const status of [undefined, 'QUEUED' as const]) {
      for (const kind of [undefined, 'k']) {
        for (const tag of [undefined, 'g']) {
          for (const after of [undefined, { seq: 5 }]) repo.list({ tenant, status, kind, tag, after, limit: 21 });
        }
      }
    }
  }
  // From before the task's position (0: a row inserted here takes none), so the window holds it.
  repo.changesOfKinds('t', -1, 100, null);
  repo.changesOfKinds('t', -1, 100, ['k', 'l']);
  repo.feedPosition('t');
  repo.expiredLeases(Date.now(), 500);
  repo.nextLeaseExpiry();
  repo.deleteFinishedBefore(Date.now(), 1_000);
  repo.countByStatus();
  database.sqlite.prepare = prepare;
  const plan = (sql: string, params: unknown[]) =>
    (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail).join('\n');
  return [...seen].filter(([sql]) => /^\s*(select|update|delete)/i.test(sql)).map(([sql, params]) => ({ sql, plan: plan(sql, params) }));
}

/** For statements whose text contains the key, the index the plan must use. */
const EXPECTED_INDEX: [RegExp, RegExp][] = [
  [/where "tasks"\."id" = \?$/i, /sqlite_autoindex_tasks_1 \(id=\?\)/],
  [/"idempotency_key" = \?/, /tasks_idempotency_key_uq/],
  [/min\("lease_expires_at"\)/, /tasks_lease_idx/],
  [/"lease_expires_at" <= \?/, /tasks_lease_idx/],
  [/max\("seq"\)/, /tasks_seq_uq/],
  [/"completed_at" < \?/, /tasks_retention_idx/],
  [/"feed_pos" > \?/, /SEARCH tasks USING INDEX tasks_feed_idx \(tenant=\? AND feed_pos>\?/],
  [/"feed_pos" <= \?/, /SEARCH tasks USING INDEX tasks_feed_idx \(tenant=\? AND feed_pos>\? AND feed_pos<\?\)/],
  [/SELECT feed_pos FROM tasks/, /SEARCH tasks USING COVERING INDEX tasks_feed_idx \(tenant=\? AND feed_pos>\?\)/],
  [/from "task_feeds"/, /SEARCH task_feeds USING INDEX sqlite_autoindex_task_feeds_1 \(tenant=\?\)/],
  [/"status" = \? and "tasks"\."kind" = \?\) order by "tasks"\."seq" asc/i, /tasks_claim_idx \(tenant=\? AND status=\? AND kind=\?\)/],
  [/"status" = \? and .*json_each/i, /tasks_status_seq_idx \(tenant=\? AND status=\?\)/],
  [/"tenant" = \? and "tasks"\."kind" = \?/i, /tasks_kind_seq_idx/],
  [/"task_tags"\."tenant" = \? and "task_tags"\."tag" = \?/i, /task_tags_tenant_tag_seq_idx \(tenant=\? AND tag=\?/],
  [/where \("task_tags"\."tag" = \?/i, /task_tags_tag_seq_idx \(tag=\?/],
];

describe('every statement the repository runs uses an index', () => {
  it('no full scan of the table and no sort, for any statement of any shape', () => {
    const statements = repositoryStatements();
    // By shape: 3 claim shapes, 32 list shapes, and the fixed ones.
    expect(statements.length).toBeGreaterThanOrEqual(42);
    for (const { sql, plan } of statements) {
      // The counts by status read a whole index (once, at start): the only scans allowed.
      if (/count\(\*\)/.test(sql) && /group by/i.test(sql)) {
        expect(plan, sql).toMatch(/SCAN tasks USING COVERING INDEX/);
        continue;
      }
      expect(plan, sql).not.toMatch(/SCAN (tasks|task_tags)(?! USING (COVERING )?INDEX)/);
      expect(plan, sql).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('each kind of lookup uses its own index', () => {
    const statements = repositoryStatements();
    for (const [key, index] of EXPECTED_INDEX) {
      const matching = statements.filter(({ sql }) => key.test(sql));
      expect(matching.length, String(key)).toBeGreaterThan(0);
      for (const { sql, plan } of matching) expect(plan, sql).toMatch(index);
    }
  });
});
