import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { seedPostgres, seedSqlite, seedSqliteOutput } from '../../src/storage/seed.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { claim, complete, createTask, type Task } from '../../src/tasks/task.js';
import { describeWithPostgres, freshDatabase } from '../helpers/postgres.js';

const at = new Date('2026-01-01T00:00:00Z');
const queued = (id: string, tags: string[] = []): Task =>
  createTask({ id, tenant: 'default', kind: 'seeded', tags, input: { n: id }, idempotencyKey: null, maxAttempts: 3 }, at);
const running = (id: string) => claim(queued(id), 'worker', 3600, at);

let storage: Storage | null = null;
afterEach(async () => {
  await storage?.close();
  storage = null;
});

describe('the SQLite bulk loader (src/storage/seed.ts)', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'seed-'));
    path = join(dir, 'seeded.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores copies of the template and the tasks, readable by a server that opens the file', async () => {
    const template = complete(running('template'), { done: true }, 'worker', at);
    const { sampleIds } = seedSqlite(path, { copies: { template, count: 500, sampleSize: 20 }, tasks: [running('a'), queued('b', ['red'])] });
    expect(sampleIds).toHaveLength(20);

    storage = await openStorage({ url: path, sqliteSynchronous: 'NORMAL', walMaxBytes: 1e9, poolSize: 1, eventResyncMs: 1_000 });
    expect(await storage.store.countByStatus()).toMatchObject({ COMPLETED: 500, RUNNING: 1, QUEUED: 1 });
    expect(await storage.store.get('template')).toBeNull();
    for (const id of sampleIds) expect(await storage.store.get(id)).toMatchObject({ status: 'COMPLETED', result: { done: true }, kind: 'seeded' });
    expect(await storage.store.get('a')).toMatchObject({ status: 'RUNNING', workerId: 'worker', input: { n: 'a' } });
    expect((await storage.store.list({ tenant: 'default', tag: 'red', limit: 10 })).map((task) => task.id)).toEqual(['b']);
    // The template took seq 1 and each copy its own after it (2 … 501); the tasks, then the next create, come after them.
    expect([(await storage.store.get('a'))!.seq, (await storage.store.get('b'))!.seq]).toEqual([502, 503]);
    expect((await storage.store.create(queued('next'))).seq).toBe(504);
  });

  it('leaves the file as a server opens it: WAL mode, every index back', async () => {
    const fresh = join(dir, 'fresh.db');
    seedSqlite(fresh, {});
    const indexes = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name";
    const expected = openSqliteStorage({ url: fresh, sqliteSynchronous: 'NORMAL', walMaxBytes: 1e9 });
    const names = expected.database.sqlite.prepare(indexes).pluck().all();
    await expected.close();

    seedSqlite(path, { copies: { template: complete(running('t'), null, 'worker', at), count: 10, sampleSize: 0 } });
    const seeded = openSqliteStorage({ url: path, sqliteSynchronous: 'NORMAL', walMaxBytes: 1e9 });
    storage = seeded;
    expect(seeded.database.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(seeded.database.sqlite.prepare(indexes).pluck().all()).toEqual(names);
  });

  it('gives a task an output backlog with the totals that go with it', async () => {
    seedSqlite(path, { tasks: [running('busy')] });
    seedSqliteOutput(path, { taskId: 'busy', chunks: 300, chunkBytes: 16, at });

    storage = await openStorage({ url: path, sqliteSynchronous: 'NORMAL', walMaxBytes: 1e9, poolSize: 1, eventResyncMs: 1_000 });
    expect(await storage.store.get('busy')).toMatchObject({ outputSeq: 300, outputBytes: 300 * 16 });
    const chunks = await storage.store.readOutput('busy', 298, 10, 1e6);
    expect(chunks).toEqual([
      { seq: 299, stream: 'log', data: '0'.repeat(16), at },
      { seq: 300, stream: 'log', data: '0'.repeat(16), at },
    ]);
  });
});

describeWithPostgres('the PostgreSQL bulk loader (src/storage/seed.ts)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    await storage?.close();
    storage = null;
    await db.drop();
  });

  it('stores the tasks, more than one INSERT holds, readable by a server that opens the database', async () => {
    const tasks = Array.from({ length: 2_500 }, (_, n) => running(`t${n}`));
    await seedPostgres(db.url, tasks);

    storage = await openStorage({ url: db.url, sqliteSynchronous: 'NORMAL', walMaxBytes: 1e9, poolSize: 1, eventResyncMs: 1_000 });
    expect(await storage.store.countByStatus()).toMatchObject({ RUNNING: 2_500 });
    expect(await storage.store.get('t2499')).toMatchObject({ status: 'RUNNING', workerId: 'worker', input: { n: 't2499' } });
    const created = await storage.store.create(queued('next'));
    expect(created.seq).toBeGreaterThan(2_500);
  });
});
