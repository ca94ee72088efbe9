import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNothingHeld, startApp, type TestApp } from '../helpers/app.js';
import { metric, metricSum } from '../helpers/graphql.js';
import { captureLog } from '../helpers/logs.js';
import { TASK_REF_PATTERN } from './operations.js';
import { API_KEYS, KEYS, requestArb, type FuzzRequest } from './requests.js';
import { fuzzSettings } from './settings.js';
import { playWsSequence, wsSequenceArb, type WsOutcome } from './ws-sequences.js';

/**
 * Random requests and WebSocket conversations against the real server on a port, with the
 * same invariants after every case: no 5xx and no INTERNAL_SERVER_ERROR, nothing logged at
 * `error` level (pino's, or graphql-ws's console.error), a refused request changed nothing (an
 * HTTP error status; errors and no data; an error at every root field; over graphql-ws, an
 * `error` message for every `subscribe`),
 * the server still answers a normal query, nothing is left held.
 * A short seeded run in `npm test`; `npm run fuzz` for a long one (see settings.ts).
 */

const settings = fuzzSettings();

let t: TestApp;
const logged = captureLog('warn');
const consoleErrors: unknown[][] = [];
/** Tasks of every state, for `@taskN@` references; rebuilt now and then, as writes move them on. */
let pool: string[] = [];
let refreshes = 0;
let cases = 0;

beforeAll(async () => {
  // Every document compiled at its first use, so that each fuzzed one goes through graphql-jit.
  t = await startApp({ API_KEYS, AWAIT_TIMEOUT_MAX_SECONDS: '0.2', WS_INIT_TIMEOUT_MS: '2000', GRAPHQL_COMPILE_AFTER: '0' }, { log: logged.log });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void consoleErrors.push(args));
  await refreshPool();
  console.log(`fuzz: seed ${settings.seed}, ${settings.numRuns} cases per property${settings.timeLimitMs ? `, at most ${settings.timeLimitMs} ms each` : ''}`);
});

afterAll(async () => {
  vi.restoreAllMocks();
  console.log(`fuzz: ${cases} cases run with seed ${settings.seed}`);
  await t?.close();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });

async function refreshPool(): Promise<void> {
  const create = async (kind: string, key = KEYS.worker) =>
    (await t.gql<{ createTask: { id: string } }>('mutation($kind: String!) { createTask(kind: $kind) { id } }', { kind }, as(key))).data.createTask.id;
  const claim = async (kind: string, leaseSeconds = 3600) => {
    const id = await create(kind);
    await t.gql('mutation($kind: String!, $lease: Int!) { claimTask(kinds: [$kind], workerId: "w1", leaseSeconds: $lease) { id } }', { kind, lease: leaseSeconds }, as(KEYS.worker));
    return id;
  };
  const n = refreshes++;
  const [queued, running, completed, failed, cancelled, other] = [await create(`pool${n}q`), await claim(`pool${n}r`), await claim(`pool${n}c`), await claim(`pool${n}f`), await create(`pool${n}x`), await create(`pool${n}o`, KEYS.otherTenant)];
  await t.gql('mutation($id: ID!) { completeTask(id: $id, workerId: "w1", result: {ok: true}) { id } }', { id: completed }, as(KEYS.worker));
  await t.gql('mutation($id: ID!) { failTask(id: $id, workerId: "w1", message: "no") { id } }', { id: failed }, as(KEYS.worker));
  await t.gql('mutation($id: ID!) { cancelTask(id: $id) { id } }', { id: cancelled }, as(KEYS.worker));
  pool = [queued, running, completed, failed, cancelled, other, await claim(`pool${n}s`), await create(`pool${n}q2`)];
}

/** Counts the case; now and then renews the task pool and, on a long run, reports progress. */
async function nextCase(): Promise<void> {
  cases++;
  if (cases % 40 === 0) await refreshPool();
  if (settings.long && cases % 1000 === 0) console.log(`fuzz: ${cases} cases, ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB RSS`);
}

const resolveRefs = (text: string) => text.replace(TASK_REF_PATTERN, (_, k: string) => pool[Number(k) % pool.length]!);

/** Committed writes (task_api_writes_total with outcome "ok") and stored tasks: what a refused request must leave as it was. */
async function stateMark(): Promise<{ writes: number; tasks: number }> {
  const writes = await metricSum(t.url, 'task_api_writes_total', { outcome: 'ok' });
  const counts = await t.app.storage.store.countByStatus();
  return { writes, tasks: Object.values(counts).reduce((sum, count) => sum + count, 0) };
}

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

/**
 * Sends a request and reads its answer: whole, or for a stream (SSE, multipart) up to its
 * first chunk, then leaves. Ten seconds without an answer fails the case as a hang.
 */
async function send(request: FuzzRequest): Promise<Answer> {
  const body = request.body ? Buffer.from(resolveRefs(Buffer.from(request.body).toString('latin1')), 'latin1') : undefined;
  const leave = new AbortController();
  const hang = setTimeout(() => leave.abort(new Error(`no answer within 10 s to ${request.method} ${request.path}`)), 10_000);
  try {
    const response = await fetch(`${t.url}${resolveRefs(request.path)}`, { method: request.method, headers: request.headers, body, signal: leave.signal });
    const contentType = response.headers.get('content-type');
    let text: string;
    if (/^(text\/event-stream|multipart\/mixed)/.test(contentType ?? '')) {
      const reader = response.body!.getReader();
      const first = await reader.read();
      text = first.value ? Buffer.from(first.value).toString('utf8') : '';
      await reader.cancel();
    } else {
      text = await response.text();
    }
    return { status: response.status, contentType, text };
  } finally {
    clearTimeout(hang);
    leave.abort();
  }
}

/** Where the logs stood when a case began: what it logged is what came after. */
const logMark = () => ({ logs: logged.errors().length, console: consoleErrors.length });

/** The invariants every case ends with, whatever it did. */
async function expectServerWell(label: string, since = { logs: 0, console: 0 }): Promise<void> {
  const normal = await t.gql<{ task: { id: string } | null }>('query($id: ID!) { task(id: $id) { id } }', { id: pool[0] }, as(KEYS.admin));
  expect(normal.status, `${label}: a normal query`).toBe(200);
  expect(normal.data.task?.id, `${label}: a normal query`).toBe(pool[0]);
  await expectNothingHeld(t.app);
  await expect.poll(() => metric(t.url, 'task_api_websocket_connections'), { timeout: 2_000 }).toBe(0);
  expect(logged.errors().slice(since.logs).map(summarize), `${label}: error-level log lines`).toEqual([]);
  expect(consoleErrors.slice(since.console).map((args) => args.map(String).join(' ').slice(0, 300)), `${label}: console.error calls`).toEqual([]);
}

const describeRequest = (request: FuzzRequest) => `${request.method} ${request.path} ${JSON.stringify(request.headers)} ${request.body ? Buffer.from(request.body).toString('latin1').slice(0, 300) : ''}`;

const assertOptions = {
  seed: settings.seed,
  numRuns: settings.numRuns,
  ...(settings.timeLimitMs ? { interruptAfterTimeLimit: settings.timeLimitMs, markInterruptAsFailure: false } : {}),
};

describe(`fuzzing the server (seed ${settings.seed})`, () => {
  it(
    'HTTP: random bodies, content types, headers, documents and variables, GraphQL over GET and REST',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestArb, async (request) => {
          await nextCase();
          const label = describeRequest(request);
          const logs = logMark();
          const before = await stateMark();
          const answer = await send(request);
          expect(answer.status, label).toBeLessThan(500);
          expect(answer.text, label).not.toContain('INTERNAL_SERVER_ERROR');
          const json = /json/.test(answer.contentType ?? '') ? tryParse(answer.text) : undefined;
          const refused = answer.status >= 400 || (isObject(json) && 'errors' in json && (!('data' in json) || everyRootFieldErrored(json, request.rootKeys)));
          if (refused) expect(await stateMark(), `${label}: refused (${answer.status} ${answer.text.slice(0, 200)}) yet changed`).toEqual(before);
          await expectServerWell(label, logs);
        }),
        assertOptions,
      );
    },
    settings.testTimeoutMs,
  );

  it(
    'graphql-ws: random message sequences (init, subscribe, complete, ping, garbage, huge frames, early close)',
    async () => {
      await fc.assert(
        fc.asyncProperty(wsSequenceArb, async (sequence) => {
          await nextCase();
          const label = JSON.stringify(sequence).slice(0, 600);
          const logs = logMark();
          const before = sequence.actions.some((action) => action.kind === 'subscribe') ? await stateMark() : null;
          const outcome = await playWsSequence(t.wsUrl, sequence, resolveRefs);
          if (before && everySubscribeRefused(outcome)) expect(await stateMark(), `${label}: every subscribe refused, yet changed`).toEqual(before);
          expect(outcome.upgradeStatus ?? 0, label).toBeLessThan(500);
          expect([1011, 4500], `${label}: closed with ${JSON.stringify(outcome.closed)}`).not.toContain(outcome.closed?.code);
          expect(JSON.stringify(outcome.messages), label).not.toContain('INTERNAL_SERVER_ERROR');
          await expectServerWell(label, logs);
        }),
        assertOptions,
      );
    },
    settings.testTimeoutMs,
  );

  it(
    'raw HTTP/1.1: framing that lies (Content-Length, chunks), cut short, then the client half-closes',
    async () => {
      await fc.assert(
        fc.asyncProperty(rawRequestArb, async (raw) => {
          await nextCase();
          const label = JSON.stringify(raw.toString('latin1').slice(0, 400));
          const logs = logMark();
          const statuses = await sendRaw(resolveRefs(raw.toString('latin1')));
          for (const status of statuses) expect(status, label).toBeLessThan(500);
          await expectServerWell(label, logs);
        }),
        assertOptions,
      );
    },
    settings.testTimeoutMs,
  );

  it(
    "GraphQL literals shaped like graphql-jit's markers (strings, names where JSON is expected, defaults) run no code",
    async () => {
      let touched = 0;
      Object.defineProperty(globalThis, JIT_PROBE, { get: () => ++touched, configurable: true });
      try {
        await fc.assert(
          fc.asyncProperty(markerLiteralArb, async ({ query, sent }) => {
            await nextCase();
            const logs = logMark();
            const answer = await t.gql(query, {}, as(KEYS.worker));
            expect(answer.status, query).toBeLessThan(500);
            expect(JSON.stringify(answer.errors ?? []), query).not.toContain('INTERNAL_SERVER_ERROR');
            if (sent !== undefined && answer.data?.createTask) expect(answer.data.createTask.input, query).toEqual(sent);
            expect(touched, `${query}: read the server's global ${JIT_PROBE}`).toBe(0);
            expect((globalThis as Record<string, unknown>)[JIT_WRITE_PROBE], `${query}: ran code`).toBeUndefined();
            await expectServerWell(query, logs);
          }),
          assertOptions,
        );
      } finally {
        delete (globalThis as Record<string, unknown>)[JIT_PROBE];
      }
    },
    settings.testTimeoutMs,
  );

  it('after every property: nothing held, nothing logged as an error', async () => {
    await expectServerWell('the end of the run');
  });
});

/**
 * Every root field of the operation has an error of its own (path `[key]`): none ran to a
 * result, whether `data` is null or holds each of them as null. An error deeper down (path
 * `[key, …]`) is not one: the root field may have run (a write committed) before it.
 */
function everyRootFieldErrored(json: Record<string, unknown>, rootKeys: readonly string[] | undefined): boolean {
  if (!rootKeys?.length || !Array.isArray(json.errors)) return false;
  const errored = new Set(json.errors.flatMap((error: unknown) => (isObject(error) && Array.isArray(error.path) && error.path.length === 1 ? [error.path[0]] : [])));
  return rootKeys.every((key) => errored.has(key));
}

/** Each `subscribe` sent was answered with an `error` message (graphql-ws's refusal before anything runs), and nothing ran to a `next`. */
function everySubscribeRefused({ subscribed, messages }: WsOutcome): boolean {
  const typed = messages.filter(isObject);
  if (subscribed.length === 0 || typed.some((message) => message.type === 'next')) return false;
  const refusals = typed.filter((message) => message.type === 'error').map((message) => message.id);
  return new Set(subscribed).size === new Set(refusals).size && subscribed.every((id) => refusals.filter((refused) => refused === id).length === subscribed.filter((sent) => sent === id).length);
}

/** A global the server never defines, whose every read is counted: code from a literal that names it has run. */
const JIT_PROBE = 'fuzzJitProbe';
/** A global that only code from a literal would set. */
const JIT_WRITE_PROBE = 'fuzzJitWriteProbe';

/** graphql-jit's markers: its generated code rewrites a JSON string starting with one into NaN, ±Infinity or `new Date(…)`. */
const JIT_MARKERS = [
  '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d',
  '__MAGIC_NAN__57f286b9_4c20_487f_b409_79804ddcb4f8',
  '__MAGIC_PLUS_INFINITY__bb201c39_3333_4695_b4ad_7f1722e7aa7a',
  '__MAGIC_MINUS_INFINITY__71d4310a_d4a3_4a05_b1fe_e60779d24998',
  '__MAGIC_',
];

/**
 * A document with a marker-shaped literal where graphql-jit would write it into code: a string
 * argument, a JSON string or name (an enum literal, which JSON takes as its text), inside a JSON
 * object, a variable's default. `sent`: the JSON input createTask must store as it was written.
 */
const markerLiteralArb = fc
  .record({
    marker: fc.constantFrom(...JIT_MARKERS),
    code: fc.oneof(
      fc.constantFrom(`globalThis.${JIT_WRITE_PROBE}=1`, `1),(globalThis.${JIT_WRITE_PROBE}=1`, `")+(globalThis.${JIT_WRITE_PROBE}=1)+("`, '\u2028', '"', '\\'),
      fc.string({ maxLength: 12 }),
    ),
    name: fc.oneof(fc.constant(JIT_PROBE), fc.stringMatching(/^[_0-9A-Za-z]{0,12}$/)),
    at: fc.constantFrom('id', 'string', 'name', 'object', 'default', 'defaultName'),
  })
  .map(({ marker, code, name, at }) => {
    const text = marker + code;
    const word = marker + name;
    switch (at) {
      case 'id':
        return { query: `{ task(id: ${JSON.stringify(text)}) { id } }`, sent: undefined };
      case 'string':
        return { query: `mutation { createTask(kind: "jit", input: ${JSON.stringify(text)}) { input } }`, sent: text };
      case 'name':
        return { query: `mutation { createTask(kind: "jit", input: ${word}) { input } }`, sent: word };
      case 'object':
        return { query: `mutation { createTask(kind: "jit", input: { a: [${JSON.stringify(text)}, ${word}] }) { input } }`, sent: { a: [text, word] } };
      case 'default':
        return { query: `mutation($input: JSON = ${JSON.stringify(text)}) { createTask(kind: "jit", input: $input) { input } }`, sent: text };
      default:
        return { query: `mutation($input: JSON = ${word}) { createTask(kind: "jit", input: $input) { input } }`, sent: word };
    }
  });

/** A request written by hand: any method and path, a Content-Length that may lie, chunked bodies that may be malformed, cut anywhere. */
const rawRequestArb = fc
  .record({
    method: fc.constantFrom('POST', 'POST', 'GET', 'PUT'),
    path: fc.constantFrom('/graphql', '/graphql', '/api/queue/poll/@task1@/wait?timeout=0.1', '/healthz', '/'),
    body: fc.oneof(
      fc.constant('{"query":"mutation { createTask(kind: \\"raw\\") { id } }"}'),
      fc.constant('{"query":"{ awaitTask(id: \\"@task0@\\", timeout: 0.1) { id } }"}'),
      fc.string({ maxLength: 40 }),
    ),
    framing: fc.constantFrom('exact', 'short', 'long', 'chunked', 'bad-chunk', 'none', 'both'),
    cut: fc.option(fc.nat(), { freq: 2 }),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/xml'),
    extra: fc.constantFrom('', 'Expect: 100-continue\r\n', 'Connection: keep-alive\r\n', 'Transfer-Encoding: gzip\r\n', 'Content-Length: 5\r\nContent-Length: 7\r\n', 'X-Bad Header: 1\r\n'),
  })
  .map(({ method, path, body, framing, cut, contentType, extra }) => {
    const length = Buffer.byteLength(body);
    let head = `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEYS.worker}\r\nContent-Type: ${contentType}\r\n${extra}`;
    let payload = body;
    if (framing === 'exact') head += `Content-Length: ${length}\r\n`;
    if (framing === 'short') head += `Content-Length: ${Math.max(0, length - 3)}\r\n`;
    if (framing === 'long') head += `Content-Length: ${length + 50}\r\n`;
    if (framing === 'both') head += `Content-Length: ${length}\r\nTransfer-Encoding: chunked\r\n`;
    if (framing === 'chunked' || framing === 'both') {
      head += framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : '';
      payload = `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    }
    if (framing === 'bad-chunk') {
      head += 'Transfer-Encoding: chunked\r\n';
      payload = `zz\r\n${body}\r\n`;
    }
    const whole = Buffer.from(`${head}Connection: close\r\n\r\n${payload}`, 'latin1');
    return cut === null ? whole : whole.subarray(0, cut % (whole.length + 1));
  });

/** Writes raw bytes, half-closes, and reads until the server closes: the status of every response seen. */
function sendRaw(text: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const hang = setTimeout(() => {
      socket.destroy();
      reject(new Error('no end within 10 s'));
    }, 10_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(hang);
      const answer = Buffer.concat(chunks).toString('latin1');
      resolve([...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1])));
    });
    socket.end(Buffer.from(text, 'latin1'));
  });
}

/** A log line's message and error, with the top of its stack. */
function summarize({ msg, err }: { msg?: string; err?: { type?: string; message?: string; stack?: string } }): string {
  return `${msg}: ${err?.type} ${err?.message} ${err?.stack?.split('\n').slice(1, 4).join(' ').replace(/\s+/g, ' ') ?? ''}`;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
