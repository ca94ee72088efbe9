/**
 * A client that leaves in the middle of a held `awaitTask` releases its waiter at once, on
 * every route a long-poll can take: GraphQL JSON POST and GET (the lean path), POST through
 * Yoga (GRAPHQL_FAST_PATH=false), graphql-ws (completing the operation, or closing the
 * socket), a query over SSE, and REST `/wait`.
 */
import { describe, expect, it } from 'vitest';
import { useApp, type TestApp } from '../helpers/app.js';
import { ackedSocket } from '../helpers/clients.js';
import { metric } from '../helpers/graphql.js';

const AWAIT = `query($id: ID!) { awaitTask(id: $id, timeout: 60) { id status } }`;

async function queuedTask(t: TestApp) {
  const { data } = await t.gql(`mutation { createTask(kind: "leaving") { id } }`);
  return data.createTask.id as string;
}

/** Held: one waiter in the service and on /metrics. */
async function expectHeld(t: TestApp) {
  await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
  expect(await metric(t.url, 'task_api_waiters')).toBe(1);
}

/** Released: no waiter in the service, none on /metrics, no listener left on the task. */
async function expectReleased(t: TestApp) {
  await expect.poll(() => t.app.tasks.stats().waiters).toBe(0);
  await expect.poll(() => metric(t.url, 'task_api_waiters')).toBe(0);
  await expect.poll(() => t.app.events.listenerCount()).toBe(0);
}

/** Starts `request` with a signal, waits until it is held, aborts it, and checks the release. */
async function leaveMidWait(t: TestApp, request: (signal: AbortSignal) => Promise<unknown>) {
  const abort = new AbortController();
  const outcome = request(abort.signal).then(
    () => 'answered',
    (error: Error) => error.name,
  );
  await expectHeld(t);
  abort.abort();
  expect(await outcome).toBe('AbortError');
  await expectReleased(t);
}

const handled = (t: TestApp, handler: 'fast' | 'yoga') => metric(t.url, 'task_api_graphql_http_requests_total', { handler });

describe('with the lean path (the default)', () => {
  const t = useApp();

  it('JSON POST', async () => {
    const id = await queuedTask(t);
    const before = await handled(t, 'fast');
    await leaveMidWait(t, (signal) => t.gql(AWAIT, { id }, {}, { signal }));
    expect(await handled(t, 'fast')).toBe(before + 1);
  });

  it('GET', async () => {
    const id = await queuedTask(t);
    const before = await handled(t, 'fast');
    await leaveMidWait(t, (signal) => t.gql(AWAIT, { id }, {}, { method: 'GET', signal }));
    expect(await handled(t, 'fast')).toBe(before + 1);
  });

  it('a query over SSE', async () => {
    const id = await queuedTask(t);
    const before = await handled(t, 'yoga');
    const search = new URLSearchParams({ query: AWAIT, variables: JSON.stringify({ id }) });
    await leaveMidWait(t, async (signal) => {
      const response = await fetch(`${t.url}/graphql?${search}`, { headers: { accept: 'text/event-stream' }, signal });
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      return response.text();
    });
    expect(await handled(t, 'yoga')).toBe(before + 1);
  });

  it('REST /wait', async () => {
    const id = await queuedTask(t);
    await leaveMidWait(t, (signal) => fetch(`${t.url}/api/queue/poll/${id}/wait?timeout=60`, { signal }).then((response) => response.json()));
  });

  it('graphql-ws: the client completes the operation, and its socket stays usable', async () => {
    const id = await queuedTask(t);
    const raw = await ackedSocket(t.wsUrl);
    raw.send({ id: 'wait-1', type: 'subscribe', payload: { query: AWAIT, variables: { id } } });
    await expectHeld(t);
    raw.send({ id: 'wait-1', type: 'complete' });
    await expectReleased(t);
    // The same socket goes on serving: a later wait is answered by its task's completion.
    raw.send({ id: 'wait-2', type: 'subscribe', payload: { query: AWAIT, variables: { id } } });
    await expectHeld(t);
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id });
    await expect.poll(() => raw.messages.filter((message) => message.id === 'wait-2').map((message) => message.type)).toEqual(['next', 'complete']);
    expect(raw.messages.filter((message) => message.id === 'wait-1')).toEqual([]);
    raw.socket.close();
    await raw.closed;
  });

  it('graphql-ws: the client closes its socket', async () => {
    const id = await queuedTask(t);
    const raw = await ackedSocket(t.wsUrl);
    raw.send({ id: 'wait-1', type: 'subscribe', payload: { query: AWAIT, variables: { id } } });
    await expectHeld(t);
    raw.socket.close(1000);
    await raw.closed;
    await expectReleased(t);
  });

  it('graphql-ws: the client’s connection drops without a close handshake', async () => {
    const id = await queuedTask(t);
    const raw = await ackedSocket(t.wsUrl);
    raw.send({ id: 'wait-1', type: 'subscribe', payload: { query: AWAIT, variables: { id } } });
    await expectHeld(t);
    raw.socket.terminate();
    await raw.closed;
    await expectReleased(t);
  });
});

describe('through Yoga (GRAPHQL_FAST_PATH=false)', () => {
  const t = useApp({ GRAPHQL_FAST_PATH: 'false' });

  it('JSON POST', async () => {
    const id = await queuedTask(t);
    const before = await handled(t, 'yoga');
    await leaveMidWait(t, (signal) => t.gql(AWAIT, { id }, {}, { signal }));
    expect(await handled(t, 'yoga')).toBe(before + 1);
    expect(await handled(t, 'fast')).toBe(0);
  });

  it('GET', async () => {
    const id = await queuedTask(t);
    const before = await handled(t, 'yoga');
    await leaveMidWait(t, (signal) => t.gql(AWAIT, { id }, {}, { method: 'GET', signal }));
    expect(await handled(t, 'yoga')).toBe(before + 1);
  });
});
