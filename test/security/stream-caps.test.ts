/**
 * Per-client caps on streams, over real sockets: subscriptions per API key and per client
 * address over SSE and graphql-ws together (MAX_STREAMS_PER_KEY, MAX_STREAMS_PER_CLIENT), and
 * WebSocket connections per address, unauthenticated ones included (MAX_CONNECTIONS_PER_CLIENT),
 * and authenticated ones per API key (MAX_CONNECTIONS_PER_KEY). Every refusal is coded (a
 * refused upgrade has a JSON body with the GraphQL error); every slot comes back, whichever way its stream or socket ends.
 * A second client address is 127.0.0.2: loopback, bound as the local address.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useApps, type TestApp } from '../helpers/app.js';
import { openSse } from '../helpers/clients.js';
import { bearer, codes, metric } from '../helpers/graphql.js';
import { completeTask, runningTask } from '../helpers/tasks.js';

const KEYS = {
  aliceWorker: 'caps-alice-worker-key-0123',
  aliceClient: 'caps-alice-client-key-0123',
};
const API_KEYS = `${KEYS.aliceWorker}:alice:worker,${KEYS.aliceClient}:alice:client`;
const FOLLOW = 'subscription($id: ID!) { taskUpdated(id: $id) { id revision status } }';

const apps = useApps();

/** A graphql-transport-ws socket from `localAddress`, its messages as they come, past its ack when `init` is given. */
async function socketFrom(t: TestApp, localAddress = '127.0.0.1', init?: Record<string, unknown>) {
  const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws', { localAddress });
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const send = (message: unknown) => socket.send(JSON.stringify(message));
  if (init) {
    send({ type: 'connection_init', payload: init });
    await expect.poll(() => messages.some((m) => m.type === 'connection_ack')).toBe(true);
  }
  /** Subscribes as `id`; resolves with the first answer: 'held' (its first event came), or the `error` message's codes. */
  const subscribe = async (id: string, variables: Record<string, unknown>, query = FOLLOW): Promise<'held' | ReturnType<typeof codes>> => {
    send({ id, type: 'subscribe', payload: { query, variables } });
    await expect.poll(() => messages.find((m) => m.id === id && (m.type === 'next' || m.type === 'error'))).toBeTruthy();
    const answer = messages.find((m) => m.id === id && (m.type === 'next' || m.type === 'error'));
    if (answer.type === 'error') return codes({ errors: answer.payload });
    return answer.payload.errors ? codes(answer.payload) : 'held';
  };
  const close = async () => {
    socket.close();
    await closed;
  };
  return { socket, messages, closed, send, subscribe, close };
}

/** The answer to a WebSocket upgrade from `localAddress` that the server refuses: its status; 101 when it is accepted (then closed). */
function upgradeStatus(t: TestApp, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws', { localAddress });
    socket.on('unexpected-response', (_request, response: IncomingMessage) => {
      response.resume();
      resolve(response.statusCode!);
    });
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** A WebSocket upgrade from `localAddress` that the server refuses: its status, headers and body as JSON. */
function upgradeRefusal(t: TestApp, localAddress = '127.0.0.1') {
  return new Promise<{ status: number; type: string | undefined; length: number; declaredLength: number; body: any }>((resolve, reject) => {
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws', { localAddress });
    socket.on('unexpected-response', (_request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const { statusCode, headers } = response;
        try {
          resolve({ status: statusCode!, type: headers['content-type'], length: Buffer.byteLength(text), declaredLength: Number(headers['content-length']), body: JSON.parse(text) });
        } catch (error) {
          reject(new Error(`the refusal's body is not JSON: "${text}"`, { cause: error }));
        }
      });
    });
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** The refusal's status and the codes of its body's GraphQL errors, once its content type and length are checked. */
function codedRefusal({ status, type, length, declaredLength, body }: Awaited<ReturnType<typeof upgradeRefusal>>) {
  expect(type).toBe('application/json; charset=utf-8');
  expect(declaredLength).toBe(length);
  expect(body.errors[0].message).toEqual(expect.any(String));
  return { status, codes: body.errors.map((error: { extensions: { code: string } }) => error.extensions.code) };
}

/** An upgrade request ws refuses (no Sec-WebSocket-Key), over a raw socket: the status line answered, once the socket closed. */
function failedHandshake(t: TestApp): Promise<string> {
  return new Promise((resolve) => {
    const raw = connect({ host: '127.0.0.1', port: Number(new URL(t.url).port) }, () =>
      raw.write('GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n'),
    );
    let answer = '';
    raw.on('data', (chunk) => (answer += chunk));
    raw.on('error', () => {});
    raw.on('close', () => resolve(answer.split('\r\n')[0]!));
  });
}

/**
 * An SSE subscription from `localAddress` over a real socket: resolves once its first event
 * came ('held', with `close` to leave) or, refused, with the status, content type and body.
 */
function sseFrom(t: TestApp, variables: Record<string, unknown>, headers: Record<string, string> = {}, localAddress = '127.0.0.1') {
  const search = new URLSearchParams({ query: FOLLOW, variables: JSON.stringify(variables) });
  const { port } = new URL(t.url);
  return new Promise<{ held: true; close: () => void } | { held: false; status: number; type: string; body: string }>((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: `/graphql?${search}`, localAddress, headers: { accept: 'text/event-stream', ...headers } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        if (response.statusCode !== 200) {
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ held: false, status: response.statusCode!, type: response.headers['content-type'] ?? '', body }));
          return;
        }
        response.on('data', (chunk: string) => {
          body += chunk;
          if (body.includes('event: next')) resolve({ held: true, close: () => request.destroy() });
        });
        response.on('error', () => {});
      },
    );
    request.on('error', (error) => {
      if (!request.destroyed) reject(error);
    });
    request.end();
  });
}

/** A refused SSE subscription: its status and the codes of the GraphQL errors in its body. */
function sseRefusal(answer: Awaited<ReturnType<typeof sseFrom>>): { status: number; codes: ReturnType<typeof codes> } {
  if (answer.held) throw new Error('the subscription was held, not refused');
  const data = /^data: (.*)$/m.exec(answer.body)?.[1];
  return { status: answer.status, codes: data ? codes(JSON.parse(data)) : undefined };
}

describe('subscriptions per API key (MAX_STREAMS_PER_KEY), SSE and graphql-ws together', () => {
  it('past the cap: SSE 429 with a coded GraphQL error, graphql-ws an `error` message with RESOURCE_EXHAUSTED; another key of the same tenant is not counted; a slot comes back when its stream ends, its client leaves, or it was refused', async () => {
    const t = await apps.start({ API_KEYS, MAX_STREAMS_PER_KEY: '2', MAX_STREAMS_PER_CLIENT: '100' });
    const worker = bearer(KEYS.aliceWorker);
    const id = await runningTask(t.url, { headers: worker });

    const sse = await sseFrom(t, { id }, worker);
    expect(sse.held).toBe(true);
    const ws = await socketFrom(t, '127.0.0.1', worker);
    expect(await ws.subscribe('s1', { id })).toBe('held');

    // The key holds two: a third is refused on either transport, and the socket stays open.
    expect(sseRefusal(await sseFrom(t, { id }, worker))).toEqual({ status: 429, codes: ['RESOURCE_EXHAUSTED'] });
    expect(await ws.subscribe('s2', { id })).toEqual(['RESOURCE_EXHAUSTED']);
    expect(ws.socket.readyState).toBe(WebSocket.OPEN);
    // Refusals held nothing: still two streams.
    expect(t.app.tasks.stats().subscriptions).toBe(2);

    // Another key of the same tenant has its own count.
    const client = await socketFrom(t, '127.0.0.1', bearer(KEYS.aliceClient));
    expect(await client.subscribe('c1', { id })).toBe('held');

    // The SSE client leaves: its slot comes back, for one stream only.
    if (sse.held) sse.close();
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(2);
    expect(await ws.subscribe('s3', { id })).toBe('held');
    expect(await ws.subscribe('s4', { id })).toEqual(['RESOURCE_EXHAUSTED']);

    // The client completes one: its slot comes back.
    ws.send({ id: 's1', type: 'complete' });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(2);
    expect(await ws.subscribe('s5', { id })).toBe('held');

    // Subscriptions refused for another reason (an unknown id) hold nothing either.
    const other = await runningTask(t.url, { headers: worker });
    await completeTask(t.url, other, 'done', worker);
    ws.send({ id: 's3', type: 'complete' });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(2);
    for (const n of [1, 2, 3]) expect(await ws.subscribe(`gone${n}`, { id: 'no-such-task' })).toEqual(['NOT_FOUND']);
    // A stream that ends by itself (its task was final) gives its slot back too.
    for (const n of [1, 2, 3]) expect(await ws.subscribe(`final${n}`, { id: other })).toBe('held');
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(2);
    expect(await ws.subscribe('s6', { id })).toBe('held');
    expect(await ws.subscribe('s7', { id })).toEqual(['RESOURCE_EXHAUSTED']);

    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'streams_per_key' })).toBe(4);
    await ws.close();
    await client.close();
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);
  });
});

describe('subscriptions per client address (MAX_STREAMS_PER_CLIENT), SSE and graphql-ws together', () => {
  it('past the cap, refused from that address on either transport; another address is not counted', async () => {
    const t = await apps.start({ MAX_STREAMS_PER_CLIENT: '2' });
    const id = await runningTask(t.url);
    const sse = await sseFrom(t, { id });
    const ws = await socketFrom(t, '127.0.0.1', {});
    expect([sse.held, await ws.subscribe('a1', { id })]).toEqual([true, 'held']);

    expect(sseRefusal(await sseFrom(t, { id }))).toEqual({ status: 429, codes: ['RESOURCE_EXHAUSTED'] });
    expect(await ws.subscribe('a2', { id })).toEqual(['RESOURCE_EXHAUSTED']);

    const elsewhere = await sseFrom(t, { id }, {}, '127.0.0.2');
    const wsElsewhere = await socketFrom(t, '127.0.0.2', {});
    expect([elsewhere.held, await wsElsewhere.subscribe('b1', { id })]).toEqual([true, 'held']);

    // The task ends: every stream ends with it, and the address has its slots back.
    await completeTask(t.url, id);
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);
    const next = await runningTask(t.url);
    expect(await ws.subscribe('a3', { id: next })).toBe('held');
    expect(await ws.subscribe('a4', { id: next })).toBe('held');
    expect(await ws.subscribe('a5', { id: next })).toEqual(['RESOURCE_EXHAUSTED']);

    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'streams_per_client' })).toBe(3);
    for (const stream of [sse, elsewhere]) if (stream.held) stream.close();
    await ws.close();
    await wsElsewhere.close();
  });
});

describe('WebSocket connections per client address (MAX_CONNECTIONS_PER_CLIENT)', () => {
  it('sockets still in their init window count: one address cannot take MAX_CONNECTIONS from everyone; past its cap its upgrades get 429, and a socket that closes, or a handshake that fails, gives its place back', async () => {
    const t = await apps.start({ API_KEYS, MAX_CONNECTIONS_PER_CLIENT: '2', MAX_CONNECTIONS: '3', WS_INIT_TIMEOUT_MS: '60000' });
    const worker = bearer(KEYS.aliceWorker);
    // Two sockets that never authenticate.
    const idle = [await socketFrom(t), await socketFrom(t)];
    expect(codedRefusal(await upgradeRefusal(t))).toEqual({ status: 429, codes: ['RESOURCE_EXHAUSTED'] });

    // Another address still gets in, and is served.
    const other = await socketFrom(t, '127.0.0.2', worker);
    const id = await runningTask(t.url, { headers: worker });
    expect(await other.subscribe('o1', { id })).toBe('held');
    // The server holds MAX_CONNECTIONS: a third address gets 503, coded like any capacity refusal.
    expect(codedRefusal(await upgradeRefusal(t, '127.0.0.3'))).toEqual({ status: 503, codes: ['RESOURCE_EXHAUSTED'] });

    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'connections_per_client' })).toBe(1);

    // A closed socket gives its place back (once the server has seen it close): a handshake
    // then reaches ws, which refuses this one (no Sec-WebSocket-Key) with 400.
    await idle[0]!.close();
    await expect.poll(() => failedHandshake(t)).toMatch(/^HTTP\/1.1 400/);
    // Its place comes back too: exactly one more socket from this address, then 429 again.
    let again: Awaited<ReturnType<typeof socketFrom>> | null = null;
    await expect.poll(async () => (again = await socketFrom(t).catch(() => null)) !== null).toBe(true);
    expect(await upgradeStatus(t)).toBe(429);
    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'connections_per_client' })).toBeGreaterThanOrEqual(2);
    expect(t.app.tasks.stats().subscriptions).toBe(1);
    await Promise.all([idle[1]!.close(), again!.close(), other.close()]);
  });
});

describe('WebSocket connections per API key (MAX_CONNECTIONS_PER_KEY)', () => {
  it('counted from connection_init, from any address: past the cap the socket is closed with 4429 and a RESOURCE_EXHAUSTED reason; another key is not counted, nor a socket that never authenticated; a closed one gives its place back', async () => {
    const t = await apps.start({ API_KEYS, MAX_CONNECTIONS_PER_KEY: '2', WS_INIT_TIMEOUT_MS: '60000' });
    const worker = bearer(KEYS.aliceWorker);
    const held = [await socketFrom(t, '127.0.0.1', worker), await socketFrom(t, '127.0.0.2', worker)];
    // Sockets that are not (yet) authenticated hold no place of the key's.
    const unauthenticated = await socketFrom(t);
    const wrongKey = await socketFrom(t);
    wrongKey.send({ type: 'connection_init', payload: bearer('caps-unknown-key-0123456') });
    expect((await wrongKey.closed).code).toBe(4403);

    // The key's third, from either address, is refused once it authenticates.
    for (const address of ['127.0.0.1', '127.0.0.2']) {
      const third = await socketFrom(t, address);
      third.send({ type: 'connection_init', payload: worker });
      const { code, reason } = await third.closed;
      expect([code, reason.split(':')[0]]).toEqual([4429, 'RESOURCE_EXHAUSTED']);
      expect(third.messages.some((m) => m.type === 'connection_ack')).toBe(false);
    }
    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'connections_per_key' })).toBe(2);

    // Another key of the same tenant has its own count, and is served.
    const client = await socketFrom(t, '127.0.0.1', bearer(KEYS.aliceClient));
    const id = await runningTask(t.url, { headers: worker });
    expect(await client.subscribe('c1', { id })).toBe('held');
    // The unauthenticated socket still authenticates with another key.
    unauthenticated.send({ type: 'connection_init', payload: bearer(KEYS.aliceClient) });
    await expect.poll(() => unauthenticated.messages.some((m) => m.type === 'connection_ack')).toBe(true);

    // A closed socket gives its place back (once the server has seen it close): exactly one.
    await held[0]!.close();
    let again: Awaited<ReturnType<typeof socketFrom>> | null = null;
    await expect.poll(async () => (again = await socketFrom(t, '127.0.0.1', worker).catch(() => null)) !== null).toBe(true);
    const last = await socketFrom(t);
    last.send({ type: 'connection_init', payload: worker });
    expect((await last.closed).code).toBe(4429);
    expect(await again!.subscribe('a1', { id })).toBe('held');
    await Promise.all([held[1]!.close(), again!.close(), client.close(), unauthenticated.close()]);

    // Every place is back: the key opens its full count again.
    const fresh: Awaited<ReturnType<typeof socketFrom>>[] = [];
    for (const _ of [1, 2]) {
      await expect.poll(async () => (await socketFrom(t, '127.0.0.1', worker).then((socket) => fresh.push(socket)).catch(() => null)) !== null).toBe(true);
    }
    await Promise.all(fresh.map((socket) => socket.close()));
  });
});
