import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openPostgresStorage } from '../../src/storage/postgres/index.js';
import { LISTENER_NAME } from '../../src/storage/postgres/listener.js';
import { createTaskEvents } from '../../src/tasks/events.js';
import { OPEN_PRINCIPAL as me } from '../../src/tasks/principal.js';
import { createTaskService } from '../../src/tasks/service.js';
import type { Task } from '../../src/tasks/task.js';
import { describeWithPostgres, freshDatabase } from '../helpers/postgres.js';
import { LIMITS, taskOf } from '../helpers/service.js';

const RESYNC_MS = 300;
const rethrow = (error: unknown) => {
  throw error;
};

/** One instance of the service as app.ts wires it on PostgreSQL: own storage (pool and listener), events and service. */
async function startInstance(url: string, name: string, resyncMs = RESYNC_MS) {
  const storage = await openPostgresStorage({ url, poolSize: 5, eventResyncMs: resyncMs, origin: name });
  const events = createTaskEvents(rethrow);
  const tasks = createTaskService({ store: storage.store, events, limits: LIMITS, onError: rethrow });
  await storage.start(events, tasks.noteLeaseExpiry);
  tasks.start();
  let closed = false;
  return {
    tasks,
    events,
    shared: storage.listener()!,
    async close() {
      if (closed) return;
      closed = true;
      tasks.close();
      await storage.close();
    },
  };
}

describeWithPostgres('cross-instance events (PostgreSQL LISTEN/NOTIFY)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: Awaited<ReturnType<typeof startInstance>>;
  let b: Awaited<ReturnType<typeof startInstance>>;
  let admin: pg.Client;

  beforeEach(async () => {
    db = await freshDatabase();
    a = await startInstance(db.url, 'a');
    b = await startInstance(db.url, 'b');
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });

  afterEach(async () => {
    await admin.end();
    await a.close();
    await b.close();
    await db.drop();
  });

  async function runningOn(instance: typeof a, leaseSeconds = 60): Promise<Task> {
    await instance.tasks.create(me, { kind: 'x', maxAttempts: 2 });
    return (await instance.tasks.claim(me, { workerId: 'w', leaseSeconds }))!;
  }

  it('a write on one instance ends a long-poll and feeds a subscription on another, in order', async () => {
    const task = await runningOn(a);
    const stream = await b.tasks.follow(me, { id: task.id });
    const revisions: number[] = [];
    const read = (async () => {
      for await (const state of stream) revisions.push(state.revision);
    })();
    const waiting = b.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 30 }).then(taskOf);
    for (let progress = 10; progress <= 50; progress += 10) await a.tasks.reportProgress(me, { id: task.id, progress });
    await a.tasks.complete(me, { id: task.id, result: 'done on a' });

    expect(await waiting).toMatchObject({ status: 'COMPLETED', result: 'done on a', revision: 8 });
    await read;
    // The current state first, the final one last; in between, changes may be conflated.
    expect(revisions[0]).toBe(2);
    expect(revisions.at(-1)).toBe(8);
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(b.events.listenerCount()).toBe(0);
  });

  it('output appended on one instance reaches a subscription and a long-poll on another: each chunk once, in order, then the end', async () => {
    // Instances that never resync: only the notices carry the output across.
    await a.close();
    await b.close();
    a = await startInstance(db.url, 'a', 3_600_000);
    b = await startInstance(db.url, 'b', 3_600_000);
    const task = await runningOn(a);
    await a.tasks.appendOutput(me, { id: task.id, data: 'before', stream: 'log', workerId: 'w' });
    const stream = await b.tasks.followOutput(me, { id: task.id });
    const seen: string[] = [];
    const read = (async () => {
      for await (const chunk of stream) seen.push(`${chunk.seq}:${chunk.data}`);
    })();
    const waiting = b.tasks.awaitOutput(me, { id: task.id, after: 1, first: 1000, timeoutSeconds: 30 });
    await expect.poll(() => b.tasks.stats().waiters).toBe(1);
    for (let n = 2; n <= 30; n++) await a.tasks.appendOutput(me, { id: task.id, data: `line ${n}`, stream: 'log', workerId: 'w' });
    expect((await waiting).chunks[0]).toMatchObject({ seq: 2, data: 'line 2' });
    await a.tasks.complete(me, { id: task.id, workerId: 'w' });
    await read;
    expect(seen).toEqual(['1:before', ...Array.from({ length: 29 }, (_, i) => `${i + 2}:line ${i + 2}`)]);
    expect(b.events.listenerCount()).toBe(0);
  });

  it('output that no notice announced reaches a subscription on another instance within the resync interval', async () => {
    const task = await runningOn(a);
    const stream = await b.tasks.followOutput(me, { id: task.id });
    const next = stream.next();
    // Appended behind the service's back, so no NOTIFY is sent: a lost notice.
    await admin.query(`UPDATE tasks SET output_seq = 1, output_bytes = 4 WHERE id = $1`, [task.id]);
    await admin.query(`INSERT INTO task_output (task_id, seq, stream, data, at) VALUES ($1, 1, 'log', 'lost', $2)`, [task.id, Date.now()]);
    expect((await next).value).toMatchObject({ seq: 1, data: 'lost' });
    await stream.return!();
  });

  it('a write that no notice announced reaches the waiters within the resync interval', async () => {
    const task = await runningOn(a);
    // Only the resync can end this wait: without it, it times out and answers the stale row.
    const waiting = b.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 5 }).then(taskOf);
    // A change that bypasses the service, so no NOTIFY is sent: a lost notice.
    await admin.query(`UPDATE tasks SET status = 'COMPLETED', progress = 100, revision = revision + 1, completed_at = $2 WHERE id = $1`, [
      task.id,
      Date.now(),
    ]);
    expect(await waiting).toMatchObject({ status: 'COMPLETED', revision: 3 });
  });

  it('a dropped notice connection reconnects, and what was committed meanwhile is delivered', async () => {
    const task = await runningOn(a);
    const waiting = b.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 30 }).then(taskOf);
    const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [LISTENER_NAME]);
    expect(killed.rowCount).toBe(2);
    await a.tasks.complete(me, { id: task.id, result: 'while b was deaf' });
    expect(await waiting).toMatchObject({ status: 'COMPLETED', result: 'while b was deaf' });
    await expect.poll(() => a.shared.isListening() && b.shared.isListening()).toBe(true);
    // Both listen again: a fresh change still crosses over.
    const next = await runningOn(a);
    const again = b.tasks.awaitTask(me, { id: next.id, timeoutSeconds: 30 }).then(taskOf);
    await a.tasks.cancel(me, { id: next.id });
    expect(await again).toMatchObject({ status: 'CANCELLED' });
  });

  it('a lease granted by an instance that then dies is expired by another', async () => {
    const task = await runningOn(a, 1);
    await a.close();
    const requeued = await b.tasks.awaitTask(me, { id: task.id, timeoutSeconds: 10, afterRevision: task.revision }).then(taskOf);
    expect(requeued).toMatchObject({ status: 'QUEUED', error: { code: 'LEASE_EXPIRED' } });
  });

  it('racing writes to one task from both instances: every acknowledged change applied once, none lost', async () => {
    const task = await runningOn(a);
    const writes = Array.from({ length: 60 }, (_, i) => {
      const instance = i % 2 ? a : b;
      return i % 3 === 0
        ? instance.tasks.heartbeat(me, { id: task.id, workerId: 'w', leaseSeconds: 60 + i })
        : instance.tasks.reportProgress(me, { id: task.id, progress: i, workerId: 'w' });
    });
    const results = await Promise.all(writes);
    const progressWrites = results.filter((_, i) => i % 3 !== 0);
    // Each progress report bumped the revision exactly once, whatever it raced with.
    expect(new Set(progressWrites.map((written) => written.revision)).size).toBe(progressWrites.length);
    const stored = (await a.tasks.get(me, task.id))!;
    expect(stored.revision).toBe(task.revision + progressWrites.length);

    // Complete racing cancel, across instances: exactly one wins.
    const outcomes = await Promise.allSettled([a.tasks.complete(me, { id: task.id, result: 1 }), b.tasks.cancel(me, { id: task.id })]);
    const final = (await b.tasks.get(me, task.id))!;
    expect(final.revision).toBe(stored.revision + 1);
    if (final.status === 'COMPLETED') expect(outcomes[1]).toMatchObject({ status: 'fulfilled', value: final });
    else expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_TRANSITION' } });
  });

  it('concurrent claims on both instances never hand one task out twice', async () => {
    for (let i = 0; i < 40; i++) await a.tasks.create(me, { kind: 'x', maxAttempts: 1 });
    const claims = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).tasks.claim(me, { workerId: `w${i}`, leaseSeconds: 60 })),
    );
    const claimed = claims.filter((task) => task !== null).map((task) => task.id);
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed).size).toBe(40);
  });
});
