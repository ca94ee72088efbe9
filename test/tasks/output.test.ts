import { afterEach, expect, it } from 'vitest';
import type { OutputChunk } from '../../src/tasks/output.js';
import type { Principal } from '../../src/tasks/principal.js';
import { createEngineTestService, createTestService, describeEngines, refusalCode, runningTask, until, untilHeld, type EngineTestService, type ServiceOptions } from '../helpers/service.js';

/*
 * Task output (contract v2): chunks appended to a RUNNING task by the worker holding its
 * lease, seq 1, 2, 3 … per task; read, long-polled and followed; deleted with the task.
 */

const alice: Principal = { tenant: 'alice', role: 'worker' };
const aliceClient: Principal = { tenant: 'alice', role: 'client' };
const bob: Principal = { tenant: 'bob', role: 'worker' };
let ctx: EngineTestService | undefined;

afterEach(async () => {
  if (ctx) {
    expect(ctx.tasks.stats()).toEqual({ waiters: 0, subscriptions: 0 });
    expect(ctx.events.listenerCount()).toBe(0);
  }
  await ctx?.close();
  ctx = undefined;
});

describeEngines('task output', (engine) => {
  const start = async (options: ServiceOptions = {}) => (ctx = await createEngineTestService(engine, options));
  const running = (workerId = 'w1') => runningTask(ctx!.tasks, { principal: alice, kind: `k-${workerId}`, workerId });
  const append = (id: string, data: string, stream = 'log', workerId: string | null = 'w1', principal = alice) =>
    ctx!.tasks.appendOutput(principal, { id, data, stream, workerId });
  const stored = async (id: string) => (await ctx!.store.readOutput(id, 0, 100_000, Number.MAX_SAFE_INTEGER)).map(({ seq, stream, data }) => ({ seq, stream, data }));

  it('appends chunks with seq 1, 2, 3 …, read back in order, with outputSeq; no revision bump, no lease extension, no event', async () => {
    await start();
    const task = await running();
    const published = ctx!.published.length;
    expect(await append(task.id, 'hello ')).toBe(1);
    expect(await append(task.id, 'wörld', 'stdout')).toBe(2);
    expect(await append(task.id, '')).toBe(3);
    const after = (await ctx!.tasks.get(alice, task.id))!;
    expect(after).toMatchObject({ revision: task.revision, leaseExpiresAt: task.leaseExpiresAt, updatedAt: task.updatedAt, outputSeq: 3 });
    expect(ctx!.published.length).toBe(published);
    expect(await stored(task.id)).toEqual([
      { seq: 1, stream: 'log', data: 'hello ' },
      { seq: 2, stream: 'stdout', data: 'wörld' },
      { seq: 3, stream: 'log', data: '' },
    ]);
    const page = await ctx!.tasks.output(after, { after: 1, first: 1 });
    expect(page.map((chunk) => chunk.seq)).toEqual([2]);
    expect(page[0]!.at).toBeInstanceOf(Date);
    expect((await ctx!.tasks.output(after, { after: 0, first: 5000 })).map((chunk) => chunk.seq)).toEqual([1, 2, 3]);
    expect((await ctx!.tasks.output(after, { after: 0, first: 0 })).map((chunk) => chunk.seq)).toEqual([1]);
    expect(await refusalCode(ctx!.tasks.output(after, { after: -1, first: 10 }))).toBe('BAD_USER_INPUT');
  });

  it('gives concurrent appends gap-free seqs, each once', async () => {
    await start();
    const task = await running();
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, n) => append(task.id, `line ${n}`)));
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, n) => n + 1));
    const chunks = await stored(task.id);
    expect(chunks.map((chunk) => chunk.seq)).toEqual(Array.from({ length: 40 }, (_, n) => n + 1));
    // Each chunk is at the seq its append was told.
    seqs.forEach((seq, n) => expect(chunks[seq - 1]!.data).toBe(`line ${n}`));
  });

  it('refuses with the contract codes, storing nothing', async () => {
    await start();
    const task = await running();
    const queued = await ctx!.tasks.create(alice, { kind: 'later', maxAttempts: 1 });
    expect(await refusalCode(append('no-such-task', 'x'))).toBe('NOT_FOUND');
    expect(await refusalCode(append(task.id, 'x', 'log', 'w1', bob))).toBe('NOT_FOUND');
    expect(await refusalCode(append(task.id, 'x', 'log', 'w1', aliceClient))).toBe('FORBIDDEN');
    expect(await refusalCode(append(task.id, 'x', 'log', 'w2'))).toBe('LEASE_MISMATCH');
    expect(await refusalCode(append(queued.id, 'x', 'log', null))).toBe('INVALID_TRANSITION');
    for (const stream of ['', 'a b', 'x'.repeat(33), 'ü', 'a/b']) {
      expect(await refusalCode(append(task.id, 'x', stream)), stream).toBe('BAD_USER_INPUT');
    }
    expect(await refusalCode(append(task.id, 'a\u0000b'))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(append(task.id, '\ud800'))).toBe('BAD_USER_INPUT');
    expect(await stored(task.id)).toEqual([]);
    expect(await stored(queued.id)).toEqual([]);
    // 32 characters of every allowed kind pass.
    expect(await append(task.id, 'x', 'aZ0_.:-'.padEnd(32, 'q'))).toBe(1);
    await ctx!.tasks.complete(alice, { id: task.id, workerId: 'w1' });
    expect(await refusalCode(append(task.id, 'late'))).toBe('INVALID_TRANSITION');
    expect((await stored(task.id)).map((chunk) => chunk.seq)).toEqual([1]);
  });

  it('caps a chunk and a task’s output in UTF-8 bytes: RESOURCE_EXHAUSTED past either, nothing stored', async () => {
    await start({ limits: { maxOutputChunkBytes: 8, maxOutputBytesPerTask: 20 } });
    const task = await running();
    expect(await append(task.id, 'ü'.repeat(4))).toBe(1);
    expect(await refusalCode(append(task.id, 'ü'.repeat(4) + 'x'))).toBe('RESOURCE_EXHAUSTED');
    expect(await append(task.id, '12345678')).toBe(2);
    expect(await refusalCode(append(task.id, '12345'))).toBe('RESOURCE_EXHAUSTED');
    expect(await append(task.id, '1234')).toBe(3);
    expect(await refusalCode(append(task.id, 'x'))).toBe('RESOURCE_EXHAUSTED');
    expect((await stored(task.id)).map((chunk) => chunk.seq)).toEqual([1, 2, 3]);
    expect((await ctx!.tasks.get(alice, task.id))!.outputSeq).toBe(3);
  });

  if (engine === 'sqlite') {
    it('runs SQLite with foreign keys enforced, so the cascade that deletes output with its task applies', async () => {
      const sqlite = createTestService();
      try {
        expect(sqlite.database.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      } finally {
        await sqlite.close();
      }
    });
  }

  it('keeps output with its task and deletes it with the task at retention', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    await start({ clock: () => now, limits: { retentionHours: 1 } });
    const task = await running();
    const other = await running('w2');
    await append(task.id, 'a');
    await append(task.id, 'b');
    await ctx!.tasks.appendOutput(alice, { id: other.id, data: 'kept', stream: 'log', workerId: 'w2' });
    await ctx!.tasks.complete(alice, { id: task.id, workerId: 'w1' });
    now = new Date(now.getTime() + 2 * 3_600_000);
    await ctx!.tasks.purgeExpired();
    expect(await ctx!.tasks.get(alice, task.id)).toBeNull();
    expect(await ctx!.store.readOutput(task.id, 0, 100, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect((await stored(other.id)).map((chunk) => chunk.data)).toEqual(['kept']);
  });

  it('awaitTaskOutput answers at once with chunks after `after`; null for an unknown or another tenant’s id', async () => {
    await start();
    const task = await running();
    await append(task.id, 'a');
    await append(task.id, 'b');
    const result = await ctx!.tasks.awaitOutput(aliceClient, { id: task.id, after: 1, first: 1000, timeoutSeconds: 30 });
    expect(result.chunks.map((chunk) => chunk.data)).toEqual(['b']);
    expect((await ctx!.tasks.awaitOutput(bob, { id: task.id, after: 0, first: 1000, timeoutSeconds: 30 })).task).toBeNull();
    expect((await ctx!.tasks.awaitOutput(alice, { id: 'nope', after: 0, first: 1000, timeoutSeconds: 30 })).task).toBeNull();
    expect(await refusalCode(ctx!.tasks.awaitOutput(alice, { id: task.id, after: -1, first: 10, timeoutSeconds: 1 }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(ctx!.tasks.awaitOutput(alice, { id: task.id, after: 0, first: 10, timeoutSeconds: -1 }))).toBe('BAD_USER_INPUT');
    expect((await ctx!.tasks.awaitOutput(alice, { id: task.id, after: 2, first: 10, timeoutSeconds: 0 })).chunks).toEqual([]);
  });

  it('awaitTaskOutput holds until the next chunk, counted as a waiter, and takes the fresh chunk without a read', async () => {
    await start();
    const task = await running();
    await append(task.id, 'a');
    const waiting = ctx!.tasks.awaitOutput(aliceClient, { id: task.id, after: 1, first: 1000, timeoutSeconds: 30 });
    await untilHeld(ctx!.tasks, 1);
    const reads = countReads();
    await append(task.id, 'b');
    const result = await waiting;
    expect(result.chunks.map(({ seq, data }) => ({ seq, data }))).toEqual([{ seq: 2, data: 'b' }]);
    expect(result.wokenAt).not.toBeNull();
    expect(reads()).toBe(0);
  });

  it('awaitTaskOutput answers [] when the task becomes final with nothing new, and is released when the client leaves', async () => {
    await start();
    const task = await running();
    const waiting = ctx!.tasks.awaitOutput(aliceClient, { id: task.id, after: 0, first: 1000, timeoutSeconds: 30 });
    await untilHeld(ctx!.tasks, 1);
    await ctx!.tasks.complete(alice, { id: task.id, workerId: 'w1' });
    expect((await waiting).chunks).toEqual([]);
    const other = await running('w2');
    const abort = new AbortController();
    const leaving = ctx!.tasks.awaitOutput(aliceClient, { id: other.id, after: 0, first: 1000, timeoutSeconds: 30, signal: abort.signal });
    await untilHeld(ctx!.tasks, 1);
    abort.abort();
    expect((await leaving).chunks).toEqual([]);
  });

  it('awaitTaskOutput answers at once, holding nothing, for a task already final, a client already gone, or a closed service', async () => {
    await start();
    const task = await running();
    await append(task.id, 'a');
    await ctx!.tasks.complete(alice, { id: task.id, workerId: 'w1' });
    const final = await ctx!.tasks.awaitOutput(aliceClient, { id: task.id, after: 1, first: 1000, timeoutSeconds: 30 });
    expect([final.task?.status, final.chunks, final.wokenAt]).toEqual(['COMPLETED', [], null]);
    const other = await running('w2');
    const gone = await ctx!.tasks.awaitOutput(aliceClient, { id: other.id, after: 0, first: 1000, timeoutSeconds: 30, signal: AbortSignal.abort() });
    expect([gone.task?.status, gone.chunks]).toEqual(['RUNNING', []]);
    ctx!.tasks.close();
    const closed = await ctx!.tasks.awaitOutput(aliceClient, { id: other.id, after: 0, first: 1000, timeoutSeconds: 30 });
    expect([closed.task?.status, closed.chunks]).toEqual(['RUNNING', []]);
  });

  it('awaitTaskOutput answers with every chunk appended while it waited, not only the first', async () => {
    await start();
    const task = await running();
    const waiting = ctx!.tasks.awaitOutput(aliceClient, { id: task.id, after: 0, first: 1000, timeoutSeconds: 30 });
    await untilHeld(ctx!.tasks, 1);
    await Promise.all([append(task.id, 'a'), append(task.id, 'b')]);
    const got = (await waiting).chunks.map(({ data }) => data);
    // SQLite commits the two in one transaction (one turn), so both are known before the wait
    // answers; PostgreSQL commits each on its own, and the wait may answer with the first alone.
    expect(got).toEqual(engine === 'postgres' ? ['a', 'b'].slice(0, got.length) : ['a', 'b']);
    expect(got.length).toBeGreaterThan(0);
  });

  it('taskOutput streams every chunk after `after` once, in order, then live ones, and completes after the final state', async () => {
    await start();
    const task = await running();
    for (const data of ['a', 'b', 'c']) await append(task.id, data);
    const stream = await ctx!.tasks.followOutput(aliceClient, { id: task.id, after: 1 });
    expect(ctx!.tasks.stats().subscriptions).toBe(1);
    const got: OutputChunk[] = [];
    const reading = (async () => {
      for await (const chunk of stream) got.push(chunk);
    })();
    await until(() => got.length === 2, 'the stored chunks');
    const reads = countReads();
    await append(task.id, 'd');
    await until(() => got.length === 3, 'the live chunk');
    // A subscriber that keeps up takes the fresh chunk from the append, without a read.
    expect(reads()).toBe(0);
    await append(task.id, 'e');
    await ctx!.tasks.complete(alice, { id: task.id, workerId: 'w1' });
    await reading;
    expect(got.map((chunk) => `${chunk.seq}${chunk.data}`)).toEqual(['2b', '3c', '4d', '5e']);
  });

  it('taskOutput of a final task delivers its output and ends; unknown or another tenant’s id is NOT_FOUND, holding nothing', async () => {
    await start();
    const task = await running();
    await append(task.id, 'only');
    await ctx!.tasks.complete(alice, { id: task.id, workerId: 'w1' });
    const got: string[] = [];
    for await (const chunk of await ctx!.tasks.followOutput(aliceClient, { id: task.id })) got.push(chunk.data);
    expect(got).toEqual(['only']);
    expect(await refusalCode(ctx!.tasks.followOutput(bob, { id: task.id }))).toBe('NOT_FOUND');
    expect(await refusalCode(ctx!.tasks.followOutput(alice, { id: 'nope' }))).toBe('NOT_FOUND');
    expect(await refusalCode(ctx!.tasks.followOutput(alice, { id: task.id, after: -1 }))).toBe('BAD_USER_INPUT');
  });

  it('a subscriber that does not read while 1,000 chunks are appended gets each once, in order, read in pages from storage', async () => {
    await start();
    const task = await running();
    const stream = await pastFirstChunk(task.id);
    // Not reading: the stream holds at most a page, whatever is appended meanwhile.
    await Promise.all(Array.from({ length: 999 }, (_, n) => append(task.id, `chunk ${n + 2}`)));
    const reads = countReads();
    const seqs = await seqsUntilComplete(task.id, stream);
    expect(seqs).toEqual(Array.from({ length: 999 }, (_, n) => n + 2));
    expect(reads()).toBeGreaterThanOrEqual(9);
  });

  it('a read holds about a MiB however large the chunks: it ends with the chunk that reaches it; a stream still gets them all', async () => {
    await start();
    const task = await running();
    const stream = await ctx!.tasks.followOutput(aliceClient, { id: task.id });
    const big = 'é'.repeat(32 * 1024); // 64 KiB of UTF-8
    for (let n = 0; n < 20; n++) await append(task.id, big);
    await append(task.id, 'small');
    const row = (await ctx!.tasks.get(alice, task.id))!;
    // 16 chunks hold 1 MiB: the 16th reaches the budget, so the read ends with it.
    expect((await ctx!.tasks.output(row, { after: 0, first: 1000 })).map((chunk) => chunk.seq)).toEqual(Array.from({ length: 16 }, (_, n) => n + 1));
    expect((await ctx!.tasks.output(row, { after: 16, first: 1000 })).map((chunk) => chunk.seq)).toEqual([17, 18, 19, 20, 21]);
    expect(await seqsUntilComplete(task.id, stream)).toEqual(Array.from({ length: 21 }, (_, n) => n + 1));
  });

  it('a subscriber that does not read holds about a MiB of the chunks appended meanwhile, not a page of 100 large ones: the rest comes from storage', async () => {
    await start();
    const task = await running();
    const stream = await pastFirstChunk(task.id);
    const large = 'x'.repeat(64 * 1024);
    for (let n = 0; n < 100; n++) await append(task.id, large);
    const reads = countReads();
    const seqs = await seqsUntilComplete(task.id, stream);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, n) => n + 2));
    // Handed over by the appends: 16 chunks (a MiB). The other 84, in reads of a MiB each, and a last empty read.
    expect(reads()).toBe(7);
  });

  it('a stream that is left early releases its listeners and its place', async () => {
    await start();
    const task = await running();
    const stream = await ctx!.tasks.followOutput(aliceClient, { id: task.id });
    const pending = stream.next();
    await stream.return!();
    expect((await pending).done).toBe(true);
  });

  /** A stream of the task's output that has taken its first chunk, appended once it started. */
  async function pastFirstChunk(id: string) {
    const stream = await ctx!.tasks.followOutput(aliceClient, { id });
    const first = stream.next();
    await append(id, 'chunk 1');
    expect((await first).value?.seq).toBe(1);
    return stream;
  }

  /** Completes the task and reads the stream to its end: the seqs it delivered. */
  async function seqsUntilComplete(id: string, stream: AsyncIterable<{ seq: number }>): Promise<number[]> {
    const end = ctx!.tasks.complete(alice, { id, workerId: 'w1' });
    const seqs: number[] = [];
    for await (const chunk of stream) seqs.push(chunk.seq);
    await end;
    return seqs;
  }

  /** Counts the store's reads of output from now on. */
  function countReads(): () => number {
    const store = ctx!.store;
    const read = store.readOutput.bind(store);
    let reads = 0;
    store.readOutput = (...args) => {
      reads++;
      return read(...args);
    };
    return () => reads;
  }
});
