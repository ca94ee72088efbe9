import { afterEach, describe, expect, it } from 'vitest';
import { createTestService } from '../helpers/service.js';

let ctx: ReturnType<typeof createTestService>;
afterEach(() => ctx.close());

/** The plan SQLite picks for the statements the repository runs. */
function plan(sql: string, ...params: unknown[]): string {
  return (ctx.database.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
    .map((row) => row.detail)
    .join('\n');
}

describe('every read the service makes uses an index', () => {
  it('task(id) is a primary-key lookup', () => {
    ctx = createTestService();
    expect(plan('SELECT * FROM tasks WHERE id = ?', 'x')).toMatch(/SEARCH tasks USING INDEX sqlite_autoindex_tasks_1 \(id=\?\)/);
  });

  it('claiming searches by tenant, status and kind in creation order, with no sort', () => {
    ctx = createTestService();
    const byKind = plan(
      "SELECT * FROM tasks WHERE tenant = ? AND status = 'QUEUED' AND kind IN (?, ?) ORDER BY seq LIMIT 1",
      't',
      'a',
      'b',
    );
    expect(byKind).toMatch(/SEARCH tasks USING INDEX tasks_(claim|status_seq)_idx \(tenant=\? AND status=\?/);
    expect(plan("SELECT * FROM tasks WHERE tenant = ? AND status = 'QUEUED' AND kind IN (?) ORDER BY seq LIMIT 1", 't', 'a')).toMatch(
      /USING INDEX tasks_claim_idx \(tenant=\? AND status=\? AND kind=\?\)/,
    );
    const anyKind = plan("SELECT * FROM tasks WHERE tenant = ? AND status = 'QUEUED' ORDER BY seq LIMIT 1", 't');
    expect(anyKind).toMatch(/USING INDEX tasks_status_seq_idx/);
    expect(anyKind).not.toMatch(/TEMP B-TREE/);
  });

  it('listing newest first uses an index for each filter, with no sort', () => {
    ctx = createTestService();
    const cases: [string, RegExp][] = [
      ['tenant = ?', /tasks_tenant_seq_idx/],
      ["tenant = ? AND status = 'QUEUED'", /tasks_status_seq_idx/],
      ['tenant = ? AND kind = ?', /tasks_kind_seq_idx/],
    ];
    for (const [where, index] of cases) {
      const params = where.includes('kind') ? ['t', 'k'] : ['t'];
      const text = plan(`SELECT * FROM tasks WHERE ${where} ORDER BY seq DESC LIMIT 21`, ...params);
      expect(text).toMatch(index);
      expect(text).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('the idempotency key, the next seq, lease expiry and retention use their indexes', () => {
    ctx = createTestService();
    expect(plan('SELECT * FROM tasks WHERE tenant = ? AND idempotency_key = ?', 't', 'k')).toMatch(/tasks_idempotency_key_uq/);
    expect(plan("SELECT min(lease_expires_at) FROM tasks WHERE status = 'RUNNING'")).toMatch(/tasks_lease_idx/);
    expect(plan('SELECT max(seq) FROM tasks')).toMatch(/tasks_seq_uq/);
    expect(plan('SELECT id FROM tasks WHERE completed_at IS NOT NULL AND completed_at < ? LIMIT 1000', 1)).toMatch(/tasks_retention_idx/);
  });

  it('the repository issues exactly these statements', () => {
    ctx = createTestService();
    const seen: string[] = [];
    const prepare = ctx.database.sqlite.prepare.bind(ctx.database.sqlite);
    ctx.database.sqlite.prepare = ((source: string) => {
      seen.push(source);
      return prepare(source);
    }) as typeof ctx.database.sqlite.prepare;
    ctx.repo.oldestQueued('t', ['a', 'b']);
    ctx.repo.oldestQueued('t', null);
    ctx.repo.list({ tenant: 't', status: 'QUEUED', limit: 3 });
    ctx.repo.list({ tenant: 't', kind: 'k', after: { seq: 1 }, limit: 3 });
    ctx.database.sqlite.prepare = prepare;
    expect(seen).toHaveLength(4);
    for (const source of seen) expect(plan(source.replace(/\?/g, "'x'"))).not.toMatch(/SCAN tasks|TEMP B-TREE/);
  });
});
