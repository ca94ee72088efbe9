import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { ackedSocket, collect, openSse, wsClient } from '../helpers/clients.js';
import { bearer, code, metric } from '../helpers/graphql.js';
import { API_KEYS, KEYS } from '../helpers/keys.js';
import { runningTask } from '../helpers/tasks.js';

/*
 * Task output over every transport, as clients see it: the mutation, Task.output,
 * awaitTaskOutput, the taskOutput subscription over graphql-ws and SSE, and REST.
 */

const t = useApp({ API_KEYS, TENANT_WRITE_BURST: '100000', MAX_STREAMS_PER_CLIENT: '3' });
const worker = bearer(KEYS.aliceWorker);
const client = bearer(KEYS.aliceClient);
const alice = { tenant: 'alice', role: 'worker' } as const;

const APPEND = 'mutation($id: ID!, $data: String!, $stream: String, $w: String) { appendTaskOutput(id: $id, data: $data, stream: $stream, workerId: $w) }';
const OUTPUT = 'subscription($id: ID!, $after: Int) { taskOutput(id: $id, after: $after) { seq stream data at } }';

const started = () => runningTask(t.url, { headers: worker });
const append = (id: string, data: string, headers = worker, stream?: string) => t.gql(APPEND, { id, data, stream, w: 'w1' }, headers);
const complete = (id: string) => t.gql('mutation($id: ID!) { completeTask(id: $id, workerId: "w1") { id } }', { id }, worker);
/** `count` chunks appended in process (the nth's data: `dataOf(n)`, n from 0), 500 at a time: they commit in groups. */
async function appendMany(id: string, count: number, dataOf: (n: number) => string = String): Promise<void> {
  for (let n = 0; n < count; n += 500) {
    const batch = Array.from({ length: Math.min(500, count - n) }, (_, i) => dataOf(n + i));
    await Promise.all(batch.map((data) => t.app.tasks.appendOutput(alice, { id, data, stream: 'log', workerId: 'w1' })));
  }
}

const rest = async (path: string, headers: Record<string, string> = client) => {
  const response = await fetch(`${t.url}/api/queue/poll/${path}`, { headers });
  return { status: response.status, body: await response.json() };
};

describe('task output over GraphQL', () => {
  it('appendTaskOutput returns the seq; Task.output and outputSeq read it back; the revision stays', async () => {
    const id = await started();
    expect((await append(id, 'one')).data).toEqual({ appendTaskOutput: 1 });
    expect((await append(id, 'two', worker, 'tokens')).data).toEqual({ appendTaskOutput: 2 });
    const { data } = await t.gql('query($id: ID!) { task(id: $id) { revision outputSeq output(after: 0) { seq stream data at } tail: output(after: 1, first: 1) { seq } } }', { id }, client);
    expect(data.task).toMatchObject({ revision: 2, outputSeq: 2, tail: [{ seq: 2 }] });
    expect(data.task.output.map(({ seq, stream, data: text }: any) => [seq, stream, text])).toEqual([
      [1, 'log', 'one'],
      [2, 'tokens', 'two'],
    ]);
    expect(data.task.output[0].at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(code(await t.gql('query($id: ID!) { task(id: $id) { output(after: -1) { seq } } }', { id }, client))).toBe('BAD_USER_INPUT');
  });

  it('refuses a client key (FORBIDDEN), another tenant (NOT_FOUND), a bad stream (BAD_USER_INPUT), another worker (LEASE_MISMATCH)', async () => {
    const id = await started();
    expect(code(await append(id, 'x', client))).toBe('FORBIDDEN');
    expect(code(await append(id, 'x', bearer(KEYS.bobWorker)))).toBe('NOT_FOUND');
    expect(code(await append(id, 'x', worker, 'no spaces'))).toBe('BAD_USER_INPUT');
    expect(code(await t.gql(APPEND, { id, data: 'x', w: 'w2' }, worker))).toBe('LEASE_MISMATCH');
    expect((await t.gql('query($id: ID!) { task(id: $id) { outputSeq } }', { id }, client)).data.task.outputSeq).toBe(0);
  });

  it('another tenant can neither read, await nor subscribe to the output', async () => {
    const id = await started();
    await append(id, 'secret');
    const bob = bearer(KEYS.bobClient);
    expect((await t.gql('query($id: ID!) { task(id: $id) { output { data } } }', { id }, bob)).data).toEqual({ task: null });
    expect((await t.gql('query($id: ID!) { awaitTaskOutput(id: $id, timeout: 0) { data } }', { id }, bob)).data).toEqual({ awaitTaskOutput: null });
    const ws = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.bobClient}` });
    try {
      const refused = collect(ws, OUTPUT, { id });
      expect((await refused.finished).map(code)).toEqual(['NOT_FOUND']);
    } finally {
      await ws.dispose();
    }
  });

  it('awaitTaskOutput holds until the next chunk; [] when the task ends with nothing new', async () => {
    const id = await started();
    await append(id, 'a');
    const waiting = t.gql('query($id: ID!) { awaitTaskOutput(id: $id, after: 1, timeout: 30) { seq data } }', { id }, client);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    expect(await metric(t.url, 'task_api_waiters')).toBe(1);
    await append(id, 'b');
    expect((await waiting).data).toEqual({ awaitTaskOutput: [{ seq: 2, data: 'b' }] });
    const ending = t.gql('query($id: ID!) { awaitTaskOutput(id: $id, after: 2, timeout: 30) { seq } }', { id }, client);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await complete(id);
    expect((await ending).data).toEqual({ awaitTaskOutput: [] });
  });

  it('taskOutput over graphql-ws: a reconnect with the last seq seen gets no gap and no duplicate, then completes after the final state', async () => {
    const id = await started();
    for (const data of ['a', 'b', 'c']) await append(id, data);
    const first = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.aliceClient}` });
    const before = collect(first, OUTPUT, { id });
    await expect.poll(() => before.results.length).toBe(3);
    expect(await metric(t.url, 'task_api_subscriptions')).toBe(1);
    await first.dispose();
    const last = before.results.at(-1).data.taskOutput.seq;
    await append(id, 'd');
    await append(id, 'e');
    const second = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.aliceClient}` });
    try {
      const after = collect(second, OUTPUT, { id, after: last });
      await expect.poll(() => after.results.length).toBe(2);
      await append(id, 'f');
      await complete(id);
      await after.finished;
      const seen = [...before.results, ...after.results].map((result) => result.data.taskOutput);
      expect(seen.map((chunk: any) => `${chunk.seq}${chunk.data}`)).toEqual(['1a', '2b', '3c', '4d', '5e', '6f']);
    } finally {
      await second.dispose();
    }
  });

  it('taskOutput over graphql-ws: a subscriber far behind gets its backlog, frames written together, in order', async () => {
    const id = await runningTask(t.url, { headers: worker, leaseSeconds: 3_600 });
    await appendMany(id, 300);
    await complete(id);
    const ws = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.aliceClient}` });
    try {
      const backlog = collect(ws, OUTPUT, { id });
      await backlog.finished;
      expect(backlog.results.map((result) => result.data.taskOutput.seq)).toEqual(Array.from({ length: 300 }, (_, n) => n + 1));
    } finally {
      await ws.dispose();
    }
  });

  it('a subscriber far behind does not hold the server: an operation it sends meanwhile is answered before its backlog ends', async () => {
    const id = await runningTask(t.url, { headers: worker, leaseSeconds: 3_600 });
    await appendMany(id, 3_000);
    await complete(id);
    const raw = await ackedSocket(t.wsUrl, { authorization: `Bearer ${KEYS.aliceClient}` });
    // A query on the same socket, sent as soon as the first chunk arrives: its answer takes its
    // place among the chunks' frames. Storage answers at once here (SQLite), so a stream that
    // read page after page without letting the event loop turn would send the whole backlog
    // (300 KB, which the socket takes at once) before it read the query.
    raw.socket.once('message', () => raw.send({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } }));
    raw.send({ id: 's', type: 'subscribe', payload: { query: OUTPUT, variables: { id } } });
    await expect.poll(() => raw.messages.some((message) => message.id === 's' && message.type === 'complete'), { timeout: 30_000 }).toBe(true);
    const chunks = raw.messages.filter((message) => message.id === 's' && message.type === 'next');
    expect(chunks.map((message) => message.payload.data.taskOutput.seq)).toEqual(Array.from({ length: 3_000 }, (_, n) => n + 1));
    const answeredAt = raw.messages.findIndex((message) => message.id === 'q' && message.type === 'next');
    expect(answeredAt).toBeGreaterThan(0);
    expect(answeredAt).toBeLessThan(1_000);
    raw.socket.close();
  });

  it('taskOutput over SSE sends each chunk and ends after the final state; an unknown id is NOT_FOUND', async () => {
    const id = await started();
    await append(id, 'a');
    const sse = openSse(t.url, OUTPUT, { id }, client);
    await expect.poll(() => sse.events.length).toBe(1);
    await append(id, 'b');
    await complete(id);
    await sse.done;
    expect(sse.events.filter((event) => event.event === 'next').map((event) => event.data.data.taskOutput.data)).toEqual(['a', 'b']);
    expect(sse.events.at(-1)!.event).toBe('complete');
    const unknown = openSse(t.url, OUTPUT, { id: 'no-such-task' }, client);
    await unknown.done;
    expect(unknown.events[0]!.data.errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('counts output streams against MAX_STREAMS_PER_CLIENT like taskUpdated', async () => {
    const id = await started();
    const ws = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.aliceClient}` });
    try {
      const open = [collect(ws, OUTPUT, { id }), collect(ws, OUTPUT, { id }), collect(ws, 'subscription($id: ID!) { taskUpdated(id: $id) { revision } }', { id })];
      await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(3);
      const refused = collect(ws, OUTPUT, { id });
      await expect(refused.finished).rejects.toSatisfy((errors: any) => errors[0].extensions.code === 'RESOURCE_EXHAUSTED');
      for (const stream of open) stream.unsubscribe();
    } finally {
      await ws.dispose();
    }
  });

  it('a subscriber that pauses its socket while 10,000 chunks are appended gets all of them in order, served from storage in pages', async () => {
    // A lease that outlasts the appends, however slow the machine.
    const id = await runningTask(t.url, { headers: worker, leaseSeconds: 3_600 });
    const raw = await ackedSocket(t.wsUrl, { authorization: `Bearer ${KEYS.aliceClient}` });
    raw.send({ id: 's', type: 'subscribe', payload: { query: 'subscription($id: ID!) { taskOutput(id: $id) { seq data } }', variables: { id } } });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(1);
    raw.socket.pause();
    const pagesBefore = await metric(t.url, 'task_api_output_pages_read_total');
    // 10 MB of output: far more than the socket's buffers hold while the client reads nothing.
    const line = 'x'.repeat(1000);
    await appendMany(id, 10_000, (n) => `${n} ${line}`);
    await complete(id);
    raw.socket.resume();
    await expect.poll(() => raw.messages.at(-1)?.type, { timeout: 60_000 }).toBe('complete');
    const chunks = raw.messages.filter((message) => message.type === 'next').map((message) => message.payload.data.taskOutput);
    expect(chunks.map((chunk: any) => chunk.seq)).toEqual(Array.from({ length: 10_000 }, (_, n) => n + 1));
    // Each appended chunk once (concurrent appends take their seqs in the order they commit).
    const appended = chunks.map((chunk: any) => Number(chunk.data.split(' ')[0])).sort((a: number, b: number) => a - b);
    expect(appended).toEqual(Array.from({ length: 10_000 }, (_, n) => n));
    // It fell behind and was served from storage, a page at a time.
    expect((await metric(t.url, 'task_api_output_pages_read_total')) - pagesBefore).toBeGreaterThanOrEqual(10);
    raw.socket.close();
  }, 120_000);
});

describe('GET /api/queue/poll/:taskId/output', () => {
  it('answers the chunks after `after` with output_seq and done', async () => {
    const id = await started();
    await append(id, 'a');
    await append(id, 'b', worker, 'stdout');
    const { status, body } = await rest(`${id}/output`);
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['task_id', 'chunks', 'output_seq', 'done']);
    expect(body).toMatchObject({
      task_id: id,
      chunks: [
        { seq: 1, stream: 'log', data: 'a' },
        { seq: 2, stream: 'stdout', data: 'b' },
      ],
      output_seq: 2,
      done: false,
    });
    expect(Object.keys(body.chunks[0])).toEqual(['seq', 'stream', 'data', 'at']);
    expect((await rest(`${id}/output?after=2`)).body).toMatchObject({ chunks: [], output_seq: 2, done: false });
  });

  it('with wait, holds until the next chunk, and answers [] with done once the task ends', async () => {
    const id = await started();
    const waiting = rest(`${id}/output?after=0&wait=30`);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await append(id, 'late');
    expect((await waiting).body).toMatchObject({ chunks: [{ seq: 1, data: 'late' }], output_seq: 1, done: false });
    const ending = rest(`${id}/output?after=1&wait=30`);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await complete(id);
    expect((await ending).body).toMatchObject({ chunks: [], output_seq: 1, done: true });
    expect((await rest(`${id}/output?after=1&wait=0`)).body).toMatchObject({ chunks: [], done: true });
  });

  it('404 for an unknown or another tenant’s task, 400 for bad after or wait, 401 without a key', async () => {
    const id = await started();
    expect((await rest('no-such-task/output')).status).toBe(404);
    const other = await rest(`${id}/output?wait=1`, bearer(KEYS.bobClient));
    expect(other).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: expect.any(String) } } });
    for (const query of ['after=-1', 'after=x', 'after=1.5', 'wait=-1', 'wait=abc']) {
      const { status, body } = await rest(`${id}/output?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('BAD_USER_INPUT');
    }
    expect((await rest(`${id}/output`, {})).status).toBe(401);
  });
});
