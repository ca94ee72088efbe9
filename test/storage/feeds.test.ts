import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import type { Principal } from '../../src/tasks/principal.js';
import type { TaskStore } from '../../src/tasks/store.js';
import type { Task } from '../../src/tasks/task.js';
import { describeWithPostgres } from '../helpers/postgres.js';
import { createEngineTestService, createPgTestService, describeEngines, type EngineTestService } from '../helpers/service.js';

const worker = (tenant: string): Principal => ({ tenant, role: 'worker' });
const a = worker('a');
const b = worker('b');

/** Each task's id and feed position, in the order the store's feed gives them. */
const positions = (tasks: Task[]) => tasks.map((task) => [task.id, task.feedPos]);
/** The tenant's feed after `after`, of every kind. */
const feed = async (store: TaskStore, tenant: string, after: number, limit: number) => (await store.changesOfKinds(tenant, after, limit, null)).tasks;

describeEngines('feed positions', (engine) => {
  let service: EngineTestService;
  afterEach(() => service.close());

  it('every change of a task takes the next position of its tenant\'s feed; a heartbeat takes none', async () => {
    let now = new Date('2026-11-05T10:00:00.000Z');
    service = await createEngineTestService(engine, { clock: () => now });
    const { tasks, store } = service;
    const first = await tasks.create(a, { kind: 'k', maxAttempts: 2 });
    const other = await tasks.create(b, { kind: 'k', maxAttempts: 1 });
    expect([first.feedPos, other.feedPos]).toEqual([1, 1]);
    const claimed = (await tasks.claim(a, { workerId: 'w', leaseSeconds: 10 }))!;
    expect(claimed.feedPos).toBe(2);
    expect((await tasks.heartbeat(a, { id: first.id, workerId: 'w', leaseSeconds: 20 })).feedPos).toBe(2);
    expect((await tasks.reportProgress(a, { id: first.id, progress: 5, workerId: 'w' })).feedPos).toBe(3);
    expect((await tasks.fail(a, { id: first.id, message: 'again', retry: true, workerId: 'w' })).feedPos).toBe(4);
    await tasks.claim(a, { workerId: 'w', leaseSeconds: 10 });
    now = new Date(now.getTime() + 60_000);
    await tasks.expireLeases();
    const expired = (await store.get(first.id))!;
    expect([expired.status, expired.feedPos]).toEqual(['FAILED', 6]);
    expect((await tasks.cancel(a, { id: expired.id })).feedPos).toBe(6);
    expect((await tasks.cancel(b, { id: other.id })).feedPos).toBe(2);
    expect([await store.feedPosition('a'), await store.feedPosition('b'), await store.feedPosition('c')]).toEqual([6, 2, 0]);
  });

  it('the feed holds each task once, at its latest change, in position order, only its tenant\'s', async () => {
    service = await createEngineTestService(engine);
    const { tasks, store } = service;
    const one = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    const two = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    await tasks.create(b, { kind: 'k', maxAttempts: 1 });
    await tasks.cancel(a, { id: one.id });
    const three = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    expect(positions(await feed(store, 'a', 0, 10))).toEqual([
      [two.id, 2],
      [one.id, 3],
      [three.id, 4],
    ]);
    expect(positions(await feed(store, 'a', 2, 1))).toEqual([[one.id, 3]]);
    expect(await feed(store, 'a', 4, 10)).toEqual([]);
    expect((await feed(store, 'a', 2, 1))[0]!.status).toBe('CANCELLED');
  });

  it('a read for some kinds looks at the next positions of the whole feed and hands over only the tasks of those kinds', async () => {
    service = await createEngineTestService(engine);
    const { tasks, store } = service;
    const x1 = await tasks.create(a, { kind: 'x', maxAttempts: 1 });
    const y1 = await tasks.create(a, { kind: 'y', maxAttempts: 1 });
    await tasks.create(b, { kind: 'x', maxAttempts: 1 });
    const y2 = await tasks.create(a, { kind: 'y', maxAttempts: 1 });
    const x2 = await tasks.create(a, { kind: 'x', maxAttempts: 1 });
    const window = (after: number, limit: number, kinds: string[] | null) =>
      store.changesOfKinds('a', after, limit, kinds).then(({ tasks: found, scanned, scannedTo }) => ({ found: positions(found), scanned, scannedTo }));
    expect(await window(0, 3, ['x'])).toEqual({ found: [[x1.id, 1]], scanned: 3, scannedTo: 3 });
    expect(await window(1, 2, ['x'])).toEqual({ found: [], scanned: 2, scannedTo: 3 });
    expect(await window(3, 10, ['x', 'z'])).toEqual({ found: [[x2.id, 4]], scanned: 1, scannedTo: 4 });
    expect(await window(0, 10, null)).toEqual({ found: [[x1.id, 1], [y1.id, 2], [y2.id, 3], [x2.id, 4]], scanned: 4, scannedTo: 4 });
    expect(await window(4, 10, ['x'])).toEqual({ found: [], scanned: 0, scannedTo: 4 });
  });

  it('concurrent changes of one tenant take distinct, consecutive positions', async () => {
    service = await createEngineTestService(engine);
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => service.tasks.create(i % 2 ? a : b, { kind: 'k', maxAttempts: 1 })));
    await Promise.all(created.map((task) => service.tasks.cancel(task.tenant === 'a' ? a : b, { id: task.id })));
    for (const tenant of ['a', 'b']) {
      const tasks = await feed(service.store, tenant, 0, 100);
      expect(tasks.map((task) => task.feedPos)).toEqual(Array.from({ length: 10 }, (_, i) => 11 + i));
    }
  });

  it('tasks deleted by retention drop out of the feed', async () => {
    let now = new Date('2026-11-05T10:00:00.000Z');
    service = await createEngineTestService(engine, { clock: () => now, limits: { retentionHours: 1 } });
    const { tasks, store } = service;
    const gone = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    await tasks.cancel(a, { id: gone.id });
    now = new Date(now.getTime() + 2 * 3_600_000);
    const kept = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    await tasks.purgeExpired();
    expect(positions(await feed(store, 'a', 0, 10))).toEqual([[kept.id, 3]]);
  });
});

describeWithPostgres('feed positions on PostgreSQL', () => {
  let service: Awaited<ReturnType<typeof createPgTestService>>;
  afterEach(() => service.close());

  it('a tenant\'s positions commit in order: a reader never sees a later position before an earlier one commits', async () => {
    service = await createPgTestService();
    const { tasks, store, pg: database } = service;
    const first = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    const second = await tasks.create(a, { kind: 'k', maxAttempts: 1 });
    // A change of `first`, made as the store makes one (lock the row, take the position, save),
    // that takes its position first and commits last.
    const early = new pg.Client({ connectionString: (database.pool.options as { connectionString: string }).connectionString });
    await early.connect();
    try {
      await early.query('BEGIN');
      await early.query('SELECT id FROM tasks WHERE id = $1 FOR UPDATE', [first.id]);
      const taken = await early.query<{ position: string }>(
        `INSERT INTO task_feeds (tenant, position) VALUES ('a', 1) ON CONFLICT (tenant) DO UPDATE SET position = task_feeds.position + 1 RETURNING position`,
      );
      const earlyPosition = Number(taken.rows[0]!.position);
      await early.query(`UPDATE tasks SET feed_pos = $2, revision = revision + 1, status = 'CANCELLED' WHERE id = $1`, [first.id, earlyPosition]);

      // A later change of another task of the tenant, through the service: it must wait.
      const later = tasks.cancel(a, { id: second.id });
      let waiting = 0;
      for (;;) {
        const { rows } = await database.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        waiting = Number(rows[0]!.n);
        if (waiting > 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      // A reader in between sees neither change: the later one has not taken its position.
      expect(positions(await feed(store, 'a', 2, 10))).toEqual([]);
      await early.query('COMMIT');
      const cancelled = await later;
      expect(cancelled.feedPos).toBe(earlyPosition + 1);
      expect(positions(await feed(store, 'a', 2, 10))).toEqual([
        [first.id, earlyPosition],
        [second.id, earlyPosition + 1],
      ]);
    } finally {
      await early.end();
    }
  });

  it('the feed read is one range of the (tenant, feed_pos) index, no scan and no sort', async () => {
    service = await createPgTestService();
    const { tasks, store, pg: database } = service;
    for (let i = 0; i < 20; i++) await tasks.create(i % 2 ? a : b, { kind: 'k', maxAttempts: 1 });
    const seen: { text: string; values: unknown[] }[] = [];
    // Drizzle runs a query as query({ text }, values).
    const query = database.pool.query.bind(database.pool);
    database.pool.query = ((config: { text: string }, values: unknown[]) => {
      if (/"feed_pos" >/.test(config.text)) seen.push({ text: config.text, values });
      return (query as (...args: unknown[]) => unknown)(config, values);
    }) as typeof database.pool.query;
    await feed(store, 'a', 3, 100);
    database.pool.query = query;
    expect(seen).toHaveLength(1);
    const client = await database.pool.connect();
    try {
      // The planner would rather scan a table this small: the test asks whether the index can answer, without one.
      await client.query('SET enable_seqscan = off');
      await client.query(`PREPARE feed AS ${seen[0]!.text}`);
      const values = seen[0]!.values.map((value) => (typeof value === 'number' ? String(value) : client.escapeLiteral(String(value))));
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE feed(${values.join(', ')})`);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan using tasks_feed_idx on tasks/);
      expect(plan).toMatch(/Index Cond: \(\(tenant = 'a'::text\) AND \(feed_pos > '3'::bigint\)\)/);
      expect(plan).not.toMatch(/Sort|Seq Scan/);
    } finally {
      client.release();
    }
  });
});
