import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { expectNothingHeld, startApp, useApp } from '../helpers/app.js';
import { openSse } from '../helpers/clients.js';
import { runningTask as createRunningTask, reportProgress } from '../helpers/tasks.js';

const t = useApp();

const SUBSCRIBE = `subscription($id: ID!) { taskUpdated(id: $id) { status progress revision } }`;


const runningTask = () => createRunningTask(t.url, { kind: 'sse' });

describe('taskUpdated over Server-Sent Events', () => {
  it('passes through buffering proxies: no-cache, X-Accel-Buffering: no, and keep-alive comments while nothing happens', async () => {
    const id = await runningTask();
    const abort = new AbortController();
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIBE, variables: { id } }),
      signal: abort.signal,
    });
    expect([response.headers.get('content-type'), response.headers.get('cache-control'), response.headers.get('x-accel-buffering')]).toEqual([
      'text/event-stream',
      'no-cache',
      'no',
    ]);
    // Yoga's keep-alive: a comment at once, then one every 12 s in production (every 300 ms
    // under NODE_ENV=test): a comment after the first event is one sent while nothing happened.
    let text = '';
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    const pingAfterEvent = () => /event: next[\s\S]*^:\n\n/m.test(text);
    while (!pingAfterEvent()) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    abort.abort();
    await reader.cancel().catch(() => {});
    expect(text).toMatch(/^:\n\n/);
    expect(pingAfterEvent()).toBe(true);
  });

  it('streams the current state and each change, and ends after the final state', async () => {
    const id = await runningTask();
    const sse = openSse(t.url, SUBSCRIBE, { id });
    await expect.poll(() => sse.events.length).toBe(1);
    await t.gql(`mutation($id: ID!) { reportProgress(id: $id, progress: 70) { id } }`, { id });
    await expect.poll(() => sse.events.length).toBe(2);
    await t.gql(`mutation($id: ID!) { failTask(id: $id, message: "bad input file") { id } }`, { id });
    await sse.done;
    expect(sse.events.map((e) => e.event)).toEqual(['next', 'next', 'next', 'complete']);
    expect(sse.events.slice(0, 3).map((e) => e.data.data.taskUpdated)).toEqual([
      { status: 'RUNNING', progress: 0, revision: 2 },
      { status: 'RUNNING', progress: 70, revision: 3 },
      { status: 'FAILED', progress: 70, revision: 4 },
    ]);
  });

  it('an event for many subscribers is serialized once', async () => {
    // Never compiled: graphql-js's results are serialized by JSON.stringify, which can be counted.
    const app = await startApp({ GRAPHQL_COMPILE_AFTER: '1000000' });
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const id = await createRunningTask(app.url, { kind: 'sse' });
      const streams = [openSse(app.url, SUBSCRIBE, { id }), openSse(app.url, SUBSCRIBE, { id }), openSse(app.url, SUBSCRIBE, { id })];
      await expect.poll(() => streams.every((stream) => stream.events.length === 1)).toBe(true);
      const before = stringify.mock.calls.length;
      await reportProgress(app.url, id, 40);
      await reportProgress(app.url, id, 80);
      await expect.poll(() => streams.every((stream) => stream.events.length === 3)).toBe(true);
      const serializations = stringify.mock.calls.slice(before).filter(([value]) => (value as { data?: { taskUpdated?: unknown } } | null)?.data?.taskUpdated !== undefined);
      for (const stream of streams) {
        expect(stream.events.map((event) => event.data.data.taskUpdated.progress)).toEqual([0, 40, 80]);
        stream.abort();
      }
      expect(serializations).toHaveLength(2);
    } finally {
      stringify.mockRestore();
      await expectNothingHeld(app.app);
      await app.close();
    }
  });

  it('an unknown id gives NOT_FOUND and the stream ends', async () => {
    const sse = openSse(t.url, SUBSCRIBE, { id: 'missing' });
    await sse.done;
    expect(sse.events[0]?.data.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(sse.events.at(-1)?.event).toBe('complete');
  });

  it('a client that disconnects leaves no stream or listener behind', async () => {
    const id = await runningTask();
    const sse = openSse(t.url, SUBSCRIBE, { id });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(1);
    sse.abort();
    await sse.done;
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);
  });

  it('a client that leaves while its stream is being set up leaves no stream behind (a feed never ends by itself)', async () => {
    const { store } = t.app.storage;
    const feedPosition = store.feedPosition.bind(store);
    let started = () => {};
    const reading = new Promise<void>((resolve) => (started = resolve));
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    // The stream's first read (where its feed starts) is held until the client is gone.
    store.feedPosition = async (tenant) => {
      started();
      await released;
      return feedPosition(tenant);
    };
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    const query = encodeURIComponent('subscription { taskChanges { cursor } }');
    socket.write(`GET /graphql?query=${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    await reading;
    socket.resetAndDestroy();
    const connections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    await expect.poll(connections).toBe(0);
    release();
    store.feedPosition = feedPosition;
    await expect.poll(() => ({ subscriptions: t.app.tasks.stats().subscriptions, listeners: t.app.events.listenerCount() })).toEqual({ subscriptions: 0, listeners: 0 });
  });
});
