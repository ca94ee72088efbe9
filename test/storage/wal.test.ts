import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { startWalGuard } from '../../src/storage/sqlite/wal-guard.js';
import { OPEN_PRINCIPAL } from '../../src/tasks/principal.js';
import { createTestService } from '../helpers/service.js';

let dir: string;
let ctx: ReturnType<typeof createTestService>;
afterEach(() => {
  ctx.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Another process that opens the file and holds a read transaction until told to let go. */
async function startReader(file: string) {
  const script = `
    import Database from 'better-sqlite3';
    import { createInterface } from 'node:readline';
    const db = new Database(${JSON.stringify(file)}, { readonly: true });
    db.prepare('BEGIN').run();
    db.prepare('SELECT count(*) FROM tasks').get();
    console.log('reading');
    createInterface({ input: process.stdin }).on('line', () => { db.prepare('COMMIT').run(); console.log('released'); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  expect(await next()).toBe('reading');
  return {
    async release() {
      child.stdin.write('\n');
      expect(await next()).toBe('released');
    },
    stop: () => child.kill(),
  };
}

describe('WAL growth with a reader in another process', () => {
  it('grows while the reader holds its snapshot, and is truncated by the guard once it lets go', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wal-'));
    const file = join(dir, 'tasks.db');
    ctx = createTestService({ url: file });
    await ctx.tasks.create(OPEN_PRINCIPAL, { kind: 'seed', maxAttempts: 1 });
    const reader = await startReader(file);
    const starved: number[] = [];
    const guard = startWalGuard({ database: ctx.database, maxBytes: 1024 * 1024, intervalMs: 3_600_000, onStarved: (bytes) => starved.push(bytes) });
    try {
      for (let i = 0; i < 3_000; i++) await ctx.tasks.create(OPEN_PRINCIPAL, { kind: 'bulk', input: { pad: 'x'.repeat(500) }, maxAttempts: 1 });
      const grown = ctx.database.walBytes();
      expect(grown).toBeGreaterThan(1024 * 1024);
      expect(guard.check()).toBe(false);
      expect(starved).toEqual([grown]);

      await reader.release();
      expect(guard.check()).toBe(true);
      expect(ctx.database.walBytes()).toBe(0);
      expect((await ctx.tasks.list(OPEN_PRINCIPAL, { first: 1 })).tasks).toHaveLength(1);
    } finally {
      guard.stop();
      reader.stop();
    }
  });
});
