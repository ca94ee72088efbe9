import { connect } from 'node:net';
import WebSocket from 'ws';
import { describe, expect, it, vi } from 'vitest';
import { MAX_DOCUMENT_NESTING } from '../../src/graphql/plugins.js';
import { MAX_JSON_DEPTH } from '../../src/tasks/json-depth.js';
import { useApps, type TestApp } from '../helpers/app.js';
import { ackedSocket, collect, wsClient } from '../helpers/clients.js';
import { code, codes, metric } from '../helpers/graphql.js';
import { captureLog } from '../helpers/logs.js';

/** What an abusive client found from outside, each case over a real socket. */

const apps = useApps();
let t: TestApp | undefined;
let logged = captureLog();

/** An app on port 0 whose log lines (info and up) are kept in `logged`; checked to hold nothing and closed after the test. */
async function start(env: Record<string, string> = {}): Promise<TestApp> {
  logged = captureLog();
  t = await apps.start(env, { log: logged.log });
  return t;
}

const errorLines = () => logged.errors();

const taskCount = async () => (await t!.gql(`{ tasks(first: 100) { edges { cursor } } }`)).data.tasks.edges.length;

/** A POST /graphql with a body of bytes, as a client sends it; the status, content type and body text. */
async function post(body: BodyInit, headers: Record<string, string>) {
  const response = await fetch(`${t!.url}/graphql`, { method: 'POST', headers, body });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/** `[[[…]]]` or `{"a":{"a":…}}` nested `levels` deep, as JSON text. */
const deepJson = (levels: number, kind: 'array' | 'object') =>
  kind === 'array' ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

/** The same nesting as a GraphQL literal. */
const deepLiteral = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('per-connection subscription limit over graphql-ws', () => {
  const SUBSCRIBE = 'subscription($id: ID!) { taskUpdated(id: $id) { revision } }';

  it('1,000 subscribes sent back to back on one socket: exactly MAX_SUBSCRIPTIONS_PER_CONNECTION are held, the rest RESOURCE_EXHAUSTED', async () => {
    await start();
    const id = (await t!.gql('mutation { createTask(kind: "flood") { id } }')).data.createTask.id;
    const socket = await ackedSocket(t!.wsUrl);
    for (let i = 0; i < 1000; i++) socket.send({ id: `op${i}`, type: 'subscribe', payload: { query: SUBSCRIBE, variables: { id } } });

    const answered = () => new Set(socket.messages.filter((m) => m.type === 'next' || m.type === 'error').map((m) => m.id));
    await expect.poll(() => answered().size, { timeout: 10_000 }).toBe(1000);
    const held = new Set(socket.messages.filter((m) => m.type === 'next').map((m) => m.id));
    const refused = socket.messages.filter((m) => m.type === 'error');
    expect(held.size).toBe(100);
    expect(new Set(refused.map((m) => m.payload[0].extensions.code))).toEqual(new Set(['RESOURCE_EXHAUSTED']));
    expect(refused).toHaveLength(900);
    expect(await metric(t!.url, 'task_api_subscriptions')).toBe(100);

    // A completed subscription frees its slot for the next one.
    const [first] = held;
    socket.send({ id: first, type: 'complete' });
    await expect.poll(() => metric(t!.url, 'task_api_subscriptions')).toBe(99);
    socket.send({ id: 'again', type: 'subscribe', payload: { query: SUBSCRIBE, variables: { id } } });
    await expect.poll(() => socket.messages.find((m) => m.id === 'again')?.type).toBe('next');
    expect(await metric(t!.url, 'task_api_subscriptions')).toBe(100);

    socket.socket.close();
    await socket.closed;
  });

  it('an operation refused or ended (bad document, too deep, bad variables, a query) gives its slot back', async () => {
    await start({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    const id = (await t!.gql('mutation { createTask(kind: "flood") { id } }')).data.createTask.id;
    const socket = await ackedSocket(t!.wsUrl);
    const ended = (opId: string) => socket.messages.some((m) => m.id === opId && (m.type === 'error' || m.type === 'complete'));
    const payloads = [
      { query: '{ nope }' },
      { query: SUBSCRIBE, variables: { id: JSON.parse(deepJson(MAX_JSON_DEPTH + 1, 'array')) } },
      { query: SUBSCRIBE, variables: { id: [] } },
      { query: '{ __typename }' },
    ];
    // One at a time, each to its end: ten times the limit, so a slot kept by any of them shows.
    for (let i = 0; i < 5; i++) {
      for (const [n, payload] of payloads.entries()) {
        socket.send({ id: `${n}.${i}`, type: 'subscribe', payload });
        await expect.poll(() => ended(`${n}.${i}`)).toBe(true);
      }
    }
    expect(socket.messages.filter((m) => m.type === 'error').map((m) => m.payload[0].extensions.code)).not.toContain('RESOURCE_EXHAUSTED');

    for (let i = 0; i < 3; i++) socket.send({ id: `ok${i}`, type: 'subscribe', payload: { query: SUBSCRIBE, variables: { id } } });
    await expect.poll(() => socket.messages.find((m) => m.id === 'ok2')?.type).toBe('error');
    expect(socket.messages.find((m) => m.id === 'ok2').payload[0].extensions.code).toBe('RESOURCE_EXHAUSTED');
    await expect.poll(() => socket.messages.filter((m) => m.type === 'next' && m.payload.data?.taskUpdated).length).toBe(2);
    socket.socket.close();
    await socket.closed;
  });
});

describe('deep JSON values', () => {
  const CREATE = 'mutation($input: JSON) { createTask(kind: "deep", input: $input) { id } }';

  it.each(['array', 'object'] as const)('a createTask input nested 100,000 levels (%s) is BAD_USER_INPUT with a 4xx, nothing stored, nothing logged as an error', async (kind) => {
    await start();
    const body = `{"query":${JSON.stringify(CREATE)},"variables":{"input":${deepJson(100_000, kind)}}}`;
    const answer = await post(body, { 'content-type': 'application/json' });
    expect(answer.status).toBe(400);
    expect(code(JSON.parse(answer.text))).toBe('BAD_USER_INPUT');
    expect(await taskCount()).toBe(0);
    expect(errorLines()).toEqual([]);
  });

  it('a body nested 100,000 levels anywhere (a batch, extensions) is a coded 400', async () => {
    await start();
    for (const body of [deepJson(100_000, 'array'), `{"query":"{ __typename }","extensions":${deepJson(100_000, 'object')}}`]) {
      for (const contentType of ['application/json', 'application/graphql+json']) {
        const answer = await post(body, { 'content-type': contentType });
        expect(answer.status).toBe(400);
        expect(code(JSON.parse(answer.text))).toBe('BAD_USER_INPUT');
      }
    }
    expect(errorLines()).toEqual([]);
  });

  it(`a value nested ${MAX_JSON_DEPTH} levels is stored; one level more is BAD_USER_INPUT, as a variable or as a literal`, async () => {
    await start();
    const stored = await t!.gql(CREATE, { input: JSON.parse(deepJson(MAX_JSON_DEPTH, 'object')) });
    expect(stored.errors).toBeUndefined();
    const literal = await t!.gql(`mutation { createTask(kind: "deep", input: ${deepLiteral(MAX_JSON_DEPTH)}) { input } }`);
    expect(literal.data.createTask.input).toEqual(JSON.parse(deepJson(MAX_JSON_DEPTH, 'array')));

    const variable = await t!.gql(CREATE, { input: JSON.parse(deepJson(MAX_JSON_DEPTH + 1, 'object')) });
    expect(variable.status).toBe(400);
    expect(code(variable)).toBe('BAD_USER_INPUT');
    const tooDeepLiteral = await t!.gql(`mutation { createTask(kind: "deep", input: ${deepLiteral(MAX_JSON_DEPTH + 1)}) { id } }`);
    expect(codes(tooDeepLiteral)).toEqual(['BAD_USER_INPUT']);
    expect(await taskCount()).toBe(2);
    expect(errorLines()).toEqual([]);
  });

  it('a completeTask result nested too deep is BAD_USER_INPUT and the task stays RUNNING', async () => {
    await start();
    const id = (await t!.gql('mutation { createTask(kind: "deep") { id } }')).data.createTask.id;
    await t!.gql('mutation { claimTask(workerId: "w") { id } }');
    const result = await t!.gql(`mutation($id: ID!) { completeTask(id: $id, result: ${deepLiteral(MAX_JSON_DEPTH + 1)}) { id } }`, { id });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect((await t!.gql('query($id: ID!) { task(id: $id) { status result } }', { id })).data.task).toEqual({ status: 'RUNNING', result: null });
    expect(errorLines()).toEqual([]);
  });

  it(`a document nested deeper than ${MAX_DOCUMENT_NESTING} levels is GRAPHQL_PARSE_FAILED (400) before graphql-js recurses into it, whatever MAX_QUERY_TOKENS allows`, async () => {
    await start({ MAX_QUERY_TOKENS: '100000' });
    for (const query of [
      `mutation { createTask(kind: "deep", input: ${deepLiteral(10_000)}) { id } }`,
      `mutation { createTask(kind: "deep", input: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}) { id } }`,
      `{ ${'task(id: "x") { error { '.repeat(5_000)}message${' } }'.repeat(5_000)} }`,
    ]) {
      const result = await t!.gql(query, undefined, { accept: 'application/graphql-response+json' });
      expect(result.status).toBe(400);
      expect(codes(result)).toEqual(['GRAPHQL_PARSE_FAILED']);
    }
    // Brackets inside strings and comments are not nesting.
    const quoted = await t!.gql(`mutation { createTask(kind: "${'['.repeat(200)}", input: """${'{'.repeat(300)}""") { kind } } # ${'('.repeat(300)}`);
    expect(quoted.data.createTask.kind).toBe('['.repeat(200));
    expect(await taskCount()).toBe(1);
    expect(errorLines()).toEqual([]);
  });

  it('over graphql-ws, variables nested 100,000 levels are BAD_USER_INPUT and the socket stays open', async () => {
    await start();
    const socket = await ackedSocket(t!.wsUrl);
    socket.socket.send(`{"id":"deep","type":"subscribe","payload":{"query":${JSON.stringify(CREATE)},"variables":{"input":${deepJson(100_000, 'array')}}}}`);
    await expect.poll(() => socket.messages.find((m) => m.id === 'deep')?.type).toBe('error');
    expect(socket.messages.find((m) => m.id === 'deep').payload[0].extensions.code).toBe('BAD_USER_INPUT');
    const client = wsClient(t!.wsUrl);
    expect(await collect(client, '{ __typename }').finished).toEqual([{ data: { __typename: 'Query' } }]);
    await client.dispose();
    socket.send({ id: 'after', type: 'subscribe', payload: { query: '{ __typename }' } });
    await expect.poll(() => socket.messages.find((m) => m.id === 'after')?.type).toBe('next');
    socket.socket.close();
    await socket.closed;
    expect(await taskCount()).toBe(0);
    expect(errorLines()).toEqual([]);
  });
});

describe.each([
  ['the lean path', {}],
  ["Yoga's path", { GRAPHQL_FAST_PATH: 'false' }],
])('graphql-armor refusals under Accept: application/graphql-response+json, through %s', (_, env) => {
  const fan = [
    'fragment L0 on Task { id kind status done progress message attempts maxAttempts revision createdAt }',
    'fragment L1 on Task { ...L0 ...L0 ...L0 ...L0 ...L0 ...L0 ...L0 ...L0 ...L0 ...L0 }',
    'fragment L2 on Task { ...L1 ...L1 ...L1 ...L1 ...L1 ...L1 ...L1 ...L1 ...L1 ...L1 }',
    'fragment L3 on Task { ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 }',
    '{ task(id: "x") { ...L3 } }',
  ].join(' ');
  it.each([
    ['directives', `{ ${Array.from({ length: 60 }, () => '__typename @include(if: true)').join(' ')} }`],
    ['aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: task(id: "x") { id }`).join(' ')} }`],
    ['cost', fan],
    ['depth', `{ task(id: "x") { ${'error { '.repeat(12)}message${' }'.repeat(12)} } }`],
  ])('%s: 400 with GRAPHQL_VALIDATION_FAILED, nothing executed', async (_, query) => {
    await start(env);
    const result = await t!.gql(query, undefined, { accept: 'application/graphql-response+json' });
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(codes(result)?.[0]).toBe('GRAPHQL_VALIDATION_FAILED');
    // Plain application/json keeps its 200, as the GraphQL-over-HTTP specification allows.
    expect((await t!.gql(query)).status).toBe(200);
  });
});

describe('request bodies that are not what they claim', () => {
  it('invalid UTF-8 in a JSON body is a 400 BAD_REQUEST and nothing is stored', async () => {
    await start();
    const text = JSON.stringify({ query: 'mutation($k: String!) { createTask(kind: $k) { id kind } }', variables: { k: 'a__b' } });
    const bytes = new TextEncoder().encode(text);
    const at = bytes.indexOf(0x5f);
    bytes[at] = 0xff;
    bytes[at + 1] = 0xc3;
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/graphql+json']) {
      const answer = await post(bytes, { 'content-type': contentType });
      expect(answer.status).toBe(400);
      expect(answer.contentType).toMatch(/json/);
      expect(code(JSON.parse(answer.text))).toBe('BAD_REQUEST');
    }
    expect(await taskCount()).toBe(0);
    expect(errorLines()).toEqual([]);
  });

  it('text with a lone UTF-16 surrogate (valid JSON escapes, not Unicode) is BAD_USER_INPUT: stored, it would read back as U+FFFD', async () => {
    await start();
    const created = await t!.gql('mutation($k: String!) { createTask(kind: $k) { id } }', { k: 'a\ud800b' });
    expect(codes(created)).toEqual(['BAD_USER_INPUT']);
    expect(await taskCount()).toBe(0);
    const id = (await t!.gql('mutation { createTask(kind: "k") { id } }')).data.createTask.id;
    await t!.gql('mutation { claimTask(workerId: "w") { id } }');
    const progress = await t!.gql('mutation($id: ID!, $m: String) { reportProgress(id: $id, progress: 5, message: $m) { id } }', { id, m: '\udfff' });
    expect(codes(progress)).toEqual(['BAD_USER_INPUT']);
    // JSON values are stored as JSON text, where the escape survives: they may hold one.
    const input = await t!.gql('mutation($i: JSON) { createTask(kind: "k", input: $i) { id } }', { i: { s: 'x\udfffy' } });
    const stored = await t!.gql('query($id: ID!) { task(id: $id) { input } }', { id: input.data.createTask.id });
    expect(stored.data.task.input).toEqual({ s: 'x\udfffy' });
  });

  it('a form body whose percent-escapes are not UTF-8 is a 400 BAD_REQUEST and nothing is stored', async () => {
    await start();
    const body = `query=${encodeURIComponent('mutation { createTask(kind: "a')}%FF%C3${encodeURIComponent('b") { id } }')}`;
    const answer = await post(body, { 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf': '1' });
    expect(answer.status).toBe(400);
    expect(code(JSON.parse(answer.text))).toBe('BAD_REQUEST');
    expect(await taskCount()).toBe(0);
  });

  it.each(['application/xml', 'application/octet-stream', 'image/png'])('POST /graphql with %s is a 415 with a coded GraphQL error', async (contentType) => {
    await start();
    const answer = await post('<createTask kind="x"/>', { 'content-type': contentType });
    expect(answer.status).toBe(415);
    expect(answer.contentType).toMatch(/^application\/(graphql-response\+)?json/);
    const body = JSON.parse(answer.text);
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/content type/i);
    expect(await taskCount()).toBe(0);
  });
});

describe('clients that leave while their request is read', () => {
  /** Writes a request by hand, half-closes at once and waits until the server closes too. */
  const halfClose = (head: string, body: string) =>
    new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(t!.url).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk));
      socket.on('error', () => {});
      socket.on('close', () => resolve(answer));
      socket.end(`${head}\r\n\r\n${body}`);
    });

  it('a body cut short, or whole and then the connection half-closed: no error logged, no 500, nothing stored or held', async () => {
    await start();
    const body = JSON.stringify({ query: 'mutation { createTask(kind: "gone") { id } }' });
    const head = (length: number) => `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}`;
    for (let i = 0; i < 10; i++) expect(await halfClose(head(body.length + 10), body)).not.toMatch(/^HTTP\/1\.1 5/);
    expect(await taskCount()).toBe(0);
    // A whole request may be carried out (or not) as its client leaves: either way without an error.
    for (let i = 0; i < 10; i++) expect(await halfClose(head(body.length), body)).not.toMatch(/^HTTP\/1\.1 5/);
    expect(errorLines()).toEqual([]);
  });
});

describe('requests whose URL cannot be made', () => {
  /** Writes `request` by hand and reads the whole answer, until the server closes. */
  const exchange = (request: string) =>
    new Promise<{ status: number; contentType: string | undefined; body: string }>((resolve, reject) => {
      const socket = connect(Number(new URL(t!.url).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', body = ''] = answer.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), contentType: /^content-type: (.*)$/im.exec(head)?.[1], body });
      });
      socket.end(request);
    });

  it('a request target URL cannot parse (`http://[::1/graphql`), over HTTP or as a WebSocket upgrade: 400 (BAD_REQUEST as a GraphQL error over HTTP), and the server goes on (each ended the process)', async () => {
    await start({ API_KEYS: `${'k'.repeat(20)}:t:admin` });
    const body = JSON.stringify({ query: '{ __typename }' });
    const answer = await exchange(`POST http://[::1/graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect([answer.status, answer.contentType, JSON.parse(answer.body)]).toEqual([
      400,
      'application/json; charset=utf-8',
      { errors: [{ message: 'The request target is not a valid URL.', extensions: { code: 'BAD_REQUEST' } }] },
    ]);
    const upgrade = await exchange(`GET http://[::1/graphql HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    expect(upgrade.status).toBe(400);
    expect((await t!.gql('{ __typename }', {}, { authorization: `Bearer ${'k'.repeat(20)}` })).data).toEqual({ __typename: 'Query' });
    expect(errorLines()).toEqual([]);
  });

  it('a Host that makes no URL, with API keys set: 400 BAD_REQUEST as a GraphQL error, not a 500 with a stack, whichever way the request goes', async () => {
    const key = 'k'.repeat(20);
    await start({ API_KEYS: `${key}:t:admin` });
    const body = JSON.stringify({ query: '{ __typename }' });
    const requests = [
      `POST /graphql HTTP/1.1\r\nHost: a b\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      // A subscription over SSE, which only Yoga's own handler answers.
      `GET /graphql?query=${encodeURIComponent('subscription { taskUpdated(id: "x") { id } }')} HTTP/1.1\r\nHost: [::1\r\nAuthorization: Bearer ${key}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
      `GET /api/queue/poll/x HTTP/1.1\r\nHost: a:b:c\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`,
    ];
    const [graphql, sse, rest] = await Promise.all(requests.map(exchange));
    const refusal = { message: 'The Host header is not a valid host.', code: 'BAD_REQUEST' };
    for (const answer of [graphql!, sse!]) {
      expect([answer.status, JSON.parse(answer.body)]).toEqual([400, { errors: [{ message: refusal.message, extensions: { code: refusal.code } }] }]);
    }
    expect([rest!.status, JSON.parse(rest!.body)]).toEqual([400, { error: refusal }]);
    expect(errorLines()).toEqual([]);
  });
});

describe('found by the fuzzing suite', () => {
  it('GraphQL over GET, or a form, whose variables or extensions are not JSON: 400 BAD_REQUEST, not a 500, nothing logged', async () => {
    await start();
    for (const params of ['variables={"a":', 'variables=x', 'extensions=[']) {
      for (const accept of ['application/json', 'text/event-stream']) {
        const response = await fetch(`${t!.url}/graphql?query=${encodeURIComponent('{ __typename }')}&${params}`, { headers: { accept } });
        expect(response.status).toBe(400);
        expect(await response.text()).toContain('"code":"BAD_REQUEST"');
      }
    }
    const form = await post(`query=${encodeURIComponent('mutation { createTask(kind: "x") { id } }')}&variables=%7B`, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-graphql-yoga-csrf': '1',
    });
    expect(form.status).toBe(400);
    expect(code(JSON.parse(form.text))).toBe('BAD_REQUEST');
    expect(await taskCount()).toBe(0);
    expect(errorLines()).toEqual([]);
  });

  it('a WebSocket frame that is not UTF-8 (text or binary), or one over the size limit, closes that socket alone (1007, 1009), and nothing is logged as an error', async () => {
    await start({ MAX_BODY_BYTES: '1000' });
    const consoleErrors = vi.spyOn(console, 'error');
    try {
      const client = wsClient(t!.wsUrl);
      const held = collect(client, 'subscription($id: ID!) { taskUpdated(id: $id) { revision } }', {
        id: (await t!.gql('mutation { createTask(kind: "ws") { id } }')).data.createTask.id,
      });
      await expect.poll(() => held.results.length).toBe(1);

      const notUtf8 = await ackedSocket(t!.wsUrl);
      notUtf8.socket.send(Buffer.from([0x7b, 0x80, 0x7d]), { binary: false });
      expect((await notUtf8.closed).code).toBe(1007);
      // Binary frames are not checked by ws: a mutation in one, its kind not UTF-8, must not be stored with U+FFFD.
      const binary = await ackedSocket(t!.wsUrl);
      const mutation = Buffer.from(JSON.stringify({ id: 'm', type: 'subscribe', payload: { query: 'mutation { createTask(kind: "a__b") { id } }' } }));
      mutation[mutation.indexOf('__')] = 0xff;
      binary.socket.send(mutation, { binary: true });
      expect((await binary.closed).code).toBe(1007);
      expect(await taskCount()).toBe(1);
      const tooBig = await ackedSocket(t!.wsUrl);
      tooBig.socket.send('x'.repeat(1001));
      expect((await tooBig.closed).code).toBe(1009);

      expect(await collect(client, '{ __typename }').finished).toEqual([{ data: { __typename: 'Query' } }]);
      expect(held.results).toHaveLength(1);
      held.unsubscribe();
      await client.dispose();
      expect(consoleErrors).not.toHaveBeenCalled();
      expect(errorLines()).toEqual([]);
    } finally {
      consoleErrors.mockRestore();
    }
  });
  it('keep-alive over the binding of our own: a peer that does not answer a ping is dropped at the next one, a live one stays', async () => {
    await start({ WS_KEEPALIVE_MS: '1000' });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const live = await ackedSocket(t!.wsUrl);
      const deaf = new WebSocket(t!.wsUrl, 'graphql-transport-ws', { autoPong: false });
      const deafClosed = new Promise<number>((resolve) => deaf.once('close', resolve));
      await new Promise((resolve) => deaf.once('open', resolve));
      const pinged = Promise.all([new Promise((resolve) => live.socket.once('ping', resolve)), new Promise((resolve) => deaf.once('ping', resolve))]);
      vi.advanceTimersByTime(1000);
      await pinged;
      // The live client's pong is on the wire before this message; its answer means the pong was read.
      live.send({ type: 'ping' });
      await expect.poll(() => live.messages.some((m) => m.type === 'pong')).toBe(true);
      vi.advanceTimersByTime(1000);
      expect(await deafClosed).toBe(1006);
      live.send({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } });
      await expect.poll(() => live.messages.find((m) => m.id === 'q')?.type).toBe('next');
      live.socket.close();
      await live.closed;
    } finally {
      vi.useRealTimers();
    }
  });
  it('a client that sends a message only a server sends (connection_ack, next, error) gets 4400, not 4500, and nothing is logged', async () => {
    await start();
    for (const message of [{ type: 'connection_ack' }, { id: 'a', type: 'next', payload: {} }, { id: 'a', type: 'error', payload: [] }]) {
      const socket = await ackedSocket(t!.wsUrl);
      socket.send(message);
      expect((await socket.closed).code).toBe(4400);
    }
    expect(errorLines()).toEqual([]);
  });
  it('a mutation with an Accept the server cannot answer is a 406 before anything runs: nothing stored (the long fuzz run, seed 944142144)', async () => {
    await start();
    const mutation = 'mutation { createTask(kind: "unacceptable") { id } }';
    for (const accept of ['text/html', 'image/png, text/plain', 'application/json; charset=latin1', 'application/xml']) {
      const answer = await post(JSON.stringify({ query: mutation }), { 'content-type': 'application/json', accept });
      expect(answer.status).toBe(406);
      expect(code(JSON.parse(answer.text))).toBe('BAD_REQUEST');
    }
    expect(await taskCount()).toBe(0);
    for (const accept of ['*/*', 'application/*', 'text/html, application/json', 'application/graphql-response+json']) {
      expect((await post(JSON.stringify({ query: mutation }), { 'content-type': 'application/json', accept })).status).toBe(200);
    }
    expect(await taskCount()).toBe(4);
  });
  it('a subscription whose root field is skipped (@skip, @include) is GRAPHQL_VALIDATION_FAILED, not a 500, over HTTP and graphql-ws (the long fuzz run, seed 963620354)', async () => {
    await start();
    const id = (await t!.gql('mutation { createTask(kind: "k") { id } }')).data.createTask.id;
    const documents = [
      'subscription($id: ID!) { taskUpdated(id: $id) @skip(if: true) { id } }',
      'subscription($id: ID!) { taskUpdated(id: $id) @include(if: false) { id } }',
      'subscription($id: ID!, $no: Boolean!) { ... on Subscription { taskUpdated(id: $id) @include(if: $no) { id } } }',
      'subscription($id: ID!) { ...Root } fragment Root on Subscription { taskUpdated(id: $id) @skip(if: true) { id } }',
    ];
    for (const query of documents) {
      const strict = await post(JSON.stringify({ query, variables: { id, no: false } }), { 'content-type': 'application/json', accept: 'application/graphql-response+json' });
      expect([strict.status, codes(JSON.parse(strict.text))]).toEqual([400, ['GRAPHQL_VALIDATION_FAILED']]);
      // Over SSE, Yoga sends a validation error as the stream's one event.
      const sse = await post(JSON.stringify({ query, variables: { id, no: false } }), { 'content-type': 'application/json', accept: 'text/event-stream' });
      expect(sse.status).toBe(200);
      expect(sse.text).toContain('GRAPHQL_VALIDATION_FAILED');
    }
    const socket = await ackedSocket(t!.wsUrl);
    for (const [n, query] of documents.entries()) socket.send({ id: `s${n}`, type: 'subscribe', payload: { query, variables: { id, no: false } } });
    await expect.poll(() => socket.messages.filter((m) => m.type === 'error').length).toBe(documents.length);
    expect(new Set(socket.messages.filter((m) => m.type === 'error').map((m) => m.payload[0].extensions.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    // A skip below the root field is allowed.
    socket.send({ id: 'ok', type: 'subscribe', payload: { query: 'subscription($id: ID!) { taskUpdated(id: $id) { id kind @skip(if: true) } }', variables: { id } } });
    await expect.poll(() => socket.messages.find((m) => m.id === 'ok')?.type).toBe('next');
    socket.socket.close();
    await socket.closed;
    expect(errorLines()).toEqual([]);
  });
});
