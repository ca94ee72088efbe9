import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { OPEN_PRINCIPAL } from '../../src/tasks/principal.js';
import { startApp, useApp } from '../helpers/app.js';
import { ackedSocket, collect, wsClient } from '../helpers/clients.js';
import { runningTask as createRunningTask, reportProgress } from '../helpers/tasks.js';

const t = useApp();

const SUBSCRIBE = `subscription($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { id status progress revision done } }`;

const runningTask = () => createRunningTask(t.url, { kind: 'ws' });
const progress = (id: string, p: number) => reportProgress(t.url, id, p);

describe('taskUpdated over graphql-ws', () => {
  it('sends the current state, each change, the final state, then completes', async () => {
    const id = await runningTask();
    const client = wsClient(t.wsUrl);
    const sub = collect(client, SUBSCRIBE, { id });
    await expect.poll(() => sub.results.length).toBe(1);
    await progress(id, 30);
    await expect.poll(() => sub.results.length).toBe(2);
    await progress(id, 60);
    await expect.poll(() => sub.results.length).toBe(3);
    await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: 1) { id } }`, { id });
    const results = await sub.finished;
    expect(results.map((r) => [r.data.taskUpdated.revision, r.data.taskUpdated.status])).toEqual([
      [2, 'RUNNING'],
      [3, 'RUNNING'],
      [4, 'RUNNING'],
      [5, 'COMPLETED'],
    ]);
    await client.dispose();
  });

  it('resumes after afterRevision: no gap, no duplicate', async () => {
    const id = await runningTask();
    await progress(id, 10);
    const client = wsClient(t.wsUrl);
    const sub = collect(client, SUBSCRIBE, { id, after: 2 });
    await expect.poll(() => sub.results.length).toBe(1);
    // Every later change, and the final one that ends the stream: the whole stream is then known.
    await progress(id, 20);
    await expect.poll(() => sub.results.length).toBe(2);
    await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: 1) { id } }`, { id });
    const revisions = (await sub.finished).map((r) => r.data.taskUpdated.revision);
    expect(revisions).toEqual([3, 4, 5]);
    await client.dispose();
  });

  it('resumes at the current revision: nothing until the next change', async () => {
    const id = await runningTask();
    const client = wsClient(t.wsUrl);
    const sub = collect(client, SUBSCRIBE, { id, after: 2 });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(1);
    await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: 1) { id } }`, { id });
    expect((await sub.finished).map((r) => r.data.taskUpdated.revision)).toEqual([3]);
    await client.dispose();
  });

  it('an unknown id gives NOT_FOUND and the stream ends; the socket stays usable', async () => {
    const client = wsClient(t.wsUrl);
    const missing = collect(client, SUBSCRIBE, { id: 'missing' });
    const results = await missing.finished;
    expect(results).toEqual([{ errors: [expect.objectContaining({ extensions: { code: 'NOT_FOUND' } })] }]);
    const id = await runningTask();
    const ok = collect(client, SUBSCRIBE, { id });
    await expect.poll(() => ok.results.length).toBe(1);
    ok.unsubscribe();
    await client.dispose();
  });

  it('a client that unsubscribes or disconnects leaves no stream or listener behind', async () => {
    const id = await runningTask();
    const client = wsClient(t.wsUrl);
    const a = collect(client, SUBSCRIBE, { id });
    const b = collect(client, SUBSCRIBE, { id });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(2);
    a.unsubscribe();
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(1);
    await client.dispose();
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);
    void b;
  });

  it('an operation completed while it starts, its id at once used again, leaves no stream behind when the socket closes', async () => {
    const id = await runningTask();
    const raw = await ackedSocket(t.wsUrl);
    const subscribe = { id: 'x', type: 'subscribe', payload: { query: SUBSCRIBE, variables: { id } } };
    // One write, read at once: the complete and the second subscribe arrive while the first is being set up.
    raw.send(subscribe);
    raw.send({ id: 'x', type: 'complete' });
    raw.send(subscribe);
    // Then one more operation, answered after both were set up: the socket is closed once they run.
    raw.send({ ...subscribe, id: 'y' });
    await expect.poll(() => raw.messages.some((m) => m.id === 'y' && m.type === 'next')).toBe(true);
    raw.socket.close();
    await raw.closed;
    await expect.poll(() => ({ subscriptions: t.app.tasks.stats().subscriptions, listeners: t.app.events.listenerCount() })).toEqual({ subscriptions: 0, listeners: 0 });
  });
});

describe('a subscription event for many subscribers', () => {
  it('is serialized once, and every subscriber gets all of it', async () => {
    const id = await runningTask();
    const clients = [wsClient(t.wsUrl), wsClient(t.wsUrl), wsClient(t.wsUrl)];
    const subs = clients.map((client) => collect(client, SUBSCRIBE, { id }));
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(3);
    await expect.poll(() => subs.every((sub) => sub.results.length === 1)).toBe(true);
    // Every JSON.stringify of this process that holds the event's data, as a result or inside a
    // graphql-ws message: the compiled serializer, where there is one, is not counted (none).
    const stringify = vi.spyOn(JSON, 'stringify');
    const serializations = () =>
      stringify.mock.calls.filter(([value]) => {
        const message = value as { data?: { taskUpdated?: unknown }; payload?: { data?: { taskUpdated?: unknown } } } | null;
        return message?.data?.taskUpdated !== undefined || message?.payload?.data?.taskUpdated !== undefined;
      }).length;
    try {
      await progress(id, 40);
      await progress(id, 80);
      await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: 1) { id } }`, { id });
      const streams = await Promise.all(subs.map((sub) => sub.finished));
      for (const results of streams) {
        expect(results.map((r) => [r.data.taskUpdated.revision, r.data.taskUpdated.progress, r.data.taskUpdated.status])).toEqual([
          [2, 0, 'RUNNING'],
          [3, 40, 'RUNNING'],
          [4, 80, 'RUNNING'],
          [5, 100, 'COMPLETED'],
        ]);
      }
      expect(serializations()).toBeLessThanOrEqual(3);
    } finally {
      stringify.mockRestore();
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});

describe('queries and long-polls over graphql-ws', () => {
  it('awaitTask is woken by a completion', async () => {
    const id = await runningTask();
    const client = wsClient(t.wsUrl);
    const wait = collect(client, `query($id: ID!) { awaitTask(id: $id, timeout: 30) { status done } }`, { id });
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await t.gql(`mutation($id: ID!) { completeTask(id: $id) { id } }`, { id });
    expect(await wait.finished).toEqual([{ data: { awaitTask: { status: 'COMPLETED', done: true } } }]);
    await client.dispose();
  });

  it('a held awaitTask is released when the client completes it or the socket closes', async () => {
    const id = await runningTask();
    const client = wsClient(t.wsUrl);
    const first = collect(client, `query($id: ID!) { awaitTask(id: $id, timeout: 60) { status } }`, { id });
    collect(client, `query($id: ID!) { awaitTask(id: $id, timeout: 60) { status } }`, { id });
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(2);
    first.unsubscribe();
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await client.dispose();
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(0);
  });

  it('a syntax error or an invalid operation returns errors without closing the socket', async () => {
    const id = await runningTask();
    const raw = await ackedSocket(t.wsUrl);
    raw.send({ id: 'live', type: 'subscribe', payload: { query: SUBSCRIBE, variables: { id } } });
    raw.send({ id: 'bad1', type: 'subscribe', payload: { query: '{ task(id: ' } });
    raw.send({ id: 'bad2', type: 'subscribe', payload: { query: '{ nope }' } });
    await vi.waitFor(() => {
      expect(raw.messages.filter((m) => m.type === 'error').map((m) => m.id).sort()).toEqual(['bad1', 'bad2']);
    });
    await progress(id, 50);
    await vi.waitFor(() => {
      expect(raw.messages.filter((m) => m.id === 'live' && m.type === 'next').map((m) => m.payload.data.taskUpdated.progress)).toEqual([0, 50]);
    });
    expect(raw.socket.readyState).toBe(raw.socket.OPEN);
    raw.socket.close();
    await raw.closed;
  });
});

describe('a subscriber that never reads', () => {
  it('5,000 updates while its socket is paused: conflated, no crash, the final state delivered', async () => {
    const id = await runningTask();
    const raw = await ackedSocket(t.wsUrl);
    raw.send({ id: 's', type: 'subscribe', payload: { query: SUBSCRIBE, variables: { id } } });
    await vi.waitFor(() => expect(raw.messages.some((m) => m.type === 'next')).toBe(true));
    raw.socket.pause();
    for (let i = 1; i <= 5_000; i++) await t.app.tasks.reportProgress(OPEN_PRINCIPAL, { id, progress: i % 100 });
    await t.app.tasks.complete(OPEN_PRINCIPAL, { id, result: 'done' });
    raw.socket.resume();
    await vi.waitFor(() => expect(raw.messages.at(-1)).toEqual({ id: 's', type: 'complete' }), { timeout: 10_000 });
    const revisions = raw.messages.filter((m) => m.type === 'next').map((m) => m.payload.data.taskUpdated.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(revisions.at(-1)).toBe(5_003);
    expect(revisions.length).toBeLessThan(5_003);
    raw.socket.close();
    await raw.closed;
    // 5,000 writes one after another: seconds on PostgreSQL, several times that on a loaded machine.
  }, 60_000);
});

describe('refused upgrades', () => {
  it('a client that resets its connection once its upgrade was refused is a client gone: the server goes on', async () => {
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    const answer = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(String(chunk))));
    socket.write(`GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    expect(await answer).toMatch(/^HTTP\/1\.1 404 /);
    // Unheard by the server, the reset was an uncaught `error` event: the process ended (here, vitest fails the run).
    socket.resetAndDestroy();
    await new Promise((resolve) => socket.once('close', resolve));
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});

describe('shutdown', () => {
  it('a peer that does not answer the 1001 close (it does not read) is dropped after the grace period, not after ws\'s own 30 s', async () => {
    const app = await startApp();
    const raw = await ackedSocket(app.wsUrl);
    raw.socket.pause();
    // Held for 30 s, this outlived the test's 20 s (its grace period is 100 ms).
    await app.close();
    raw.socket.resume();
    // The 1001 it had not read, then the end of the connection.
    expect((await raw.closed).code).toBe(1001);
  });
});
