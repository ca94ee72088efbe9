import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCheckpointer } from '../../src/storage/sqlite/checkpointer.js';
import { openDb, type DbClient } from '../../src/storage/sqlite/connection.js';

let dir: string;
let database: DbClient | undefined;

afterEach(() => {
  database?.close();
  database = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function openFile() {
  dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
  const path = join(dir, 'tasks.db');
  database = openDb({ url: path, synchronous: 'NORMAL' });
  // Only the worker may move pages into the file in these tests.
  database.sqlite.pragma('wal_autocheckpoint = 0');
  database.sqlite.exec('CREATE TABLE filler (body TEXT)');
  return { path, sqlite: database.sqlite };
}

describe('background checkpoints', () => {
  it('copy committed pages from the WAL into the database file from a worker thread, once told of a commit, and only then', async () => {
    const { path, sqlite } = openFile();
    const insert = sqlite.prepare('INSERT INTO filler (body) VALUES (?)');
    const fill = sqlite.transaction(() => {
      for (let i = 0; i < 2_000; i++) insert.run('x'.repeat(1_000));
    });
    fill();
    const before = statSync(path).size;
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(2_000_000);

    const onError = vi.fn();
    const checkpointer = startCheckpointer({ path, synchronous: 'NORMAL', delayMs: 20, onError });
    // Its connection open and idle, told of no commit: nothing copied.
    await checkpointer.settled();
    expect(statSync(path).size).toBe(before);

    checkpointer.noteCommit();
    await checkpointer.settled();
    const copied = statSync(path).size;
    expect(copied).toBeGreaterThan(before + 2_000_000);

    // Committed again, but the worker is not told: not copied, not even when it closes.
    fill();
    await checkpointer.close();
    await checkpointer.close();
    await checkpointer.settled();
    expect(statSync(path).size).toBe(copied);
    expect(onError).not.toHaveBeenCalled();
    expect(sqlite.prepare('SELECT count(*) AS n FROM filler').get()).toEqual({ n: 4_000 });
  });

  it('reports a worker that cannot open the file, and still closes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
    const onError = vi.fn();
    const checkpointer = startCheckpointer({ path: join(dir, 'missing.db'), synchronous: 'NORMAL', delayMs: 20, onError });
    await vi.waitFor(() => expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringMatching(/missing\.db|exited/) })));
    await checkpointer.settled();
    await checkpointer.close();
  });
});
