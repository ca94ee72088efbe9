import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useApps, type TestApp } from '../helpers/app.js';
import { codes, metricsText, sample, type GqlError } from '../helpers/graphql.js';
import { captureLog } from '../helpers/logs.js';

/**
 * The lean GraphQL-over-HTTP route (src/http/graphql-http.ts) against Yoga itself: the
 * same requests, over real sockets, to an app with the lean path and to one started with
 * GRAPHQL_FAST_PATH=false, must get byte-identical answers (status, headers but Date, body),
 * and the lean app's request counter must show which of its paths answered.
 */

const KEY = 'fast-path-worker-key-0123456789';

interface Side {
  app: TestApp;
  logs: () => string;
}

const apps = useApps();
let fast: Side;
let yoga: Side;

async function startSide(env: Record<string, string>): Promise<Side> {
  const { log, text } = captureLog();
  const app = await apps.start(env, { log });
  return { app, logs: text };
}

beforeEach(async () => {
  const env = { API_KEYS: `${KEY}:acme:worker`, MAX_QUERY_ALIASES: '3', CORS_ORIGINS: 'https://app.example' };
  [fast, yoga] = await Promise.all([startSide(env), startSide({ ...env, GRAPHQL_FAST_PATH: 'false' })]);
});
// Runs before useApps' check and close (after-hooks run last registered first).
afterEach(() => {
  vi.restoreAllMocks();
});

interface Raw {
  method?: 'GET' | 'POST';
  /** Path and query string. */
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface Answer {
  status: number;
  /** Raw header names and values in the order sent, without Date. */
  headers: string[];
  body: string;
}

/** One request over a new socket, answered as sent: names' case and order kept. */
/** Sends one request as given, with a fixed request id so that both paths echo the same one. */
function send(baseUrl: string, { method = 'POST', path = '/graphql', headers = {}, body }: Raw): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { method, headers: { 'x-request-id': 'fast-path-test', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]!.toLowerCase() !== 'date') headers.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        }
        resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `task_api_graphql_http_requests_total` by handler, from /metrics. */
async function handled(side: Side): Promise<{ fast: number; yoga: number }> {
  const text = await metricsText(side.app.url);
  const count = (handler: string) => sample(text, 'task_api_graphql_http_requests_total', { handler }) ?? 0;
  return { fast: count('fast'), yoga: count('yoga') };
}

const json = (payload: unknown, headers: Record<string, string> = {}): Raw => ({
  headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
  body: JSON.stringify(payload),
});

/**
 * Sends `request` to both apps and expects the same answer; `by` says which of the lean
 * app's paths must have answered it (`neither`: the app itself, as GraphiQL's page). Returns the answer.
 */
async function expectSameAnswer(request: Raw, by: 'fast' | 'yoga' | 'neither'): Promise<Answer> {
  const before = await handled(fast);
  const [ours, theirs] = [await send(fast.app.url, request), await send(yoga.app.url, request)];
  expect(ours).toEqual(theirs);
  const after = await handled(fast);
  expect({ fast: after.fast - before.fast, yoga: after.yoga - before.yoga }).toEqual({ fast: by === 'fast' ? 1 : 0, yoga: by === 'yoga' ? 1 : 0 });
  return ours;
}

const READ = 'query Read($id: ID!) { task(id: $id) { id status } }';
const errorsOf = (answer: Answer) => (JSON.parse(answer.body) as { errors?: GqlError[] }).errors;
const codesOf = (answer: Answer) => codes({ errors: errorsOf(answer) });

describe('the lean path answers exactly as Yoga does', () => {
  it('a good query', async () => {
    const answer = await expectSameAnswer(json({ query: READ, variables: { id: 'unknown' }, operationName: 'Read' }), 'fast');
    expect(answer.status).toBe(200);
    expect(answer.headers).toContain('Content-Type: application/json; charset=utf-8');
    expect(JSON.parse(answer.body)).toEqual({ data: { task: null } });
  });

  it('a parse error, with either JSON accept', async () => {
    const plain = await expectSameAnswer(json({ query: '{ task(id: "x") { id ' }), 'fast');
    expect([plain.status, codesOf(plain)]).toEqual([200, ['GRAPHQL_PARSE_FAILED']]);
    const strict = await expectSameAnswer(json({ query: '{ task(id: "x") { id ' }, { accept: 'application/graphql-response+json' }), 'fast');
    expect([strict.status, codesOf(strict)]).toEqual([400, ['GRAPHQL_PARSE_FAILED']]);
    expect(strict.headers).toContain('Content-Type: application/graphql-response+json; charset=utf-8');
  });

  it('a validation error (unknown field), with no suggestion leaked', async () => {
    const answer = await expectSameAnswer(json({ query: '{ task(id: "x") { idd } }' }, { accept: 'application/graphql-response+json' }), 'fast');
    expect([answer.status, codesOf(answer)]).toEqual([400, ['GRAPHQL_VALIDATION_FAILED']]);
    expect(answer.body).not.toMatch(/Did you mean/);
  });

  it('an armor rejection (too many aliases)', async () => {
    const answer = await expectSameAnswer(json({ query: '{ a: task(id: "x") { id } b: task(id: "x") { id } c: task(id: "x") { id } d: task(id: "x") { id } }' }), 'fast');
    expect(codesOf(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(errorsOf(answer)?.[0]?.message).toMatch(/alias/i);
  });

  it('a variable that does not coerce, and a missing operationName', async () => {
    const variables = await expectSameAnswer(json({ query: 'query($t: Float) { awaitTask(id: "x", timeout: $t) { id } }', variables: { t: 'abc' } }), 'fast');
    expect([variables.status, codesOf(variables)]).toEqual([400, ['BAD_USER_INPUT']]);
    const operation = await expectSameAnswer(json({ query: `${READ} query Other { __typename }`, variables: { id: 'x' } }), 'fast');
    expect(operation.status).toBe(400);
  });

  it('no key or a wrong key: 401 UNAUTHENTICATED', async () => {
    const none = await expectSameAnswer({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: READ, variables: { id: 'x' } }) }, 'fast');
    expect([none.status, codesOf(none)]).toEqual([401, ['UNAUTHENTICATED']]);
    const wrong = await expectSameAnswer(json({ query: READ, variables: { id: 'x' } }, { authorization: 'Bearer nope' }), 'fast');
    expect([wrong.status, codesOf(wrong)]).toEqual([401, ['UNAUTHENTICATED']]);
  });

  it('a mutation, and a write to an unknown id: NOT_FOUND', async () => {
    const created = await expectSameAnswer(json({ query: 'mutation { createTask(kind: "report", input: { n: 1 }) { kind status input revision done } }' }), 'fast');
    expect(JSON.parse(created.body)).toEqual({ data: { createTask: { kind: 'report', status: 'QUEUED', input: { n: 1 }, revision: 1, done: false } } });
    const missing = await expectSameAnswer(json({ query: 'mutation { completeTask(id: "nope", result: 1) { id } }' }), 'fast');
    expect([missing.status, codesOf(missing)]).toEqual([200, ['NOT_FOUND']]);
  });

  it('an unexpected failure: masked the same way, logged in full on both', async () => {
    for (const side of [fast, yoga]) {
      vi.spyOn(side.app.app.tasks, 'get').mockRejectedValue(new Error('SQLITE_IOERR: disk I/O error in SELECT * FROM tasks'));
    }
    const answer = await expectSameAnswer(json({ query: READ, variables: { id: 'x' } }), 'fast');
    expect(errorsOf(answer)).toEqual([expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    expect(answer.body).not.toMatch(/SQLITE|SELECT/);
    for (const side of [fast, yoga]) expect(side.logs()).toMatch(/SQLITE_IOERR: disk I\/O error in SELECT/);
  });

  it('GET queries, and a mutation over GET (405)', async () => {
    const query = new URLSearchParams({ query: READ, variables: JSON.stringify({ id: 'x' }) });
    const auth = { authorization: `Bearer ${KEY}` };
    const get = await expectSameAnswer({ method: 'GET', path: `/graphql?${query}`, headers: auth }, 'fast');
    expect(get.status).toBe(200);
    const mutation = new URLSearchParams({ query: 'mutation { createTask(kind: "x") { id } }' });
    const refused = await expectSameAnswer({ method: 'GET', path: `/graphql?${mutation}`, headers: auth }, 'fast');
    expect(refused.status).toBe(405);
    expect(refused.headers).toContain('Allow: POST');
  });
});

describe('what the lean path leaves to Yoga', () => {
  it('batches, CSRF refusals, unknown parameters, SSE, GraphiQL and subscriptions', async () => {
    const batch = await expectSameAnswer({ ...json([{ query: READ }]) }, 'yoga');
    expect(batch.status).toBe(400);
    const csrf = await expectSameAnswer({ headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: READ }) }, 'yoga');
    expect(csrf.status).toBe(403);
    const unknownParameter = await expectSameAnswer(json({ query: READ, variables: { id: 'x' }, persisted: true }), 'yoga');
    expect(unknownParameter.status).toBe(400);
    await expectSameAnswer(json({ query: READ, variables: { id: 'x' } }, { accept: 'text/event-stream' }), 'yoga');
    await expectSameAnswer({ method: 'GET', path: '/graphql', headers: { accept: 'text/html' } }, 'neither');
    const subscription = await expectSameAnswer(json({ query: 'subscription { taskUpdated(id: "x") { id } }' }, { accept: 'application/json' }), 'yoga');
    expect(codes(JSON.parse(subscription.body))).toEqual(['NOT_FOUND']);
  });

  it('a browser origin (CORS headers) and an Accept with several media types', async () => {
    const cors = await expectSameAnswer(json({ query: READ, variables: { id: 'x' } }, { origin: 'https://app.example' }), 'yoga');
    expect(cors.headers).toContain('access-control-allow-origin: https://app.example');
    const negotiated = await expectSameAnswer(json({ query: '{ task(id: "x") { idd } }' }, { accept: 'application/graphql-response+json, application/json;q=0.9' }), 'yoga');
    expect([negotiated.status, codesOf(negotiated)]).toEqual([400, ['GRAPHQL_VALIDATION_FAILED']]);
  });

  it('an Accept named like a property of every object is no media type the lean path knows', async () => {
    // Looked up in a plain object, these found Object.prototype's members: answered 200 as
    // `content-type: [object Object]` and `function Object() { [native code] }`.
    for (const accept of ['__proto__', 'constructor', 'toString']) {
      const answer = await expectSameAnswer(json({ query: READ, variables: { id: 'x' } }, { accept }), 'yoga');
      expect(answer.status, accept).toBe(406);
    }
  });
});

describe('the lean path is taken', () => {
  it('counts what it answers; GRAPHQL_FAST_PATH=false sends everything to Yoga', async () => {
    const request = json({ query: READ, variables: { id: 'x' } });
    const [before, beforeYoga] = [await handled(fast), await handled(yoga)];
    await send(fast.app.url, request);
    await send(yoga.app.url, request);
    expect(await handled(fast)).toEqual({ fast: before.fast + 1, yoga: before.yoga });
    expect(await handled(yoga)).toEqual({ fast: 0, yoga: beforeYoga.yoga + 1 });
  });

  it('a long-poll held on the lean path is released when its client goes away', async () => {
    const { data } = await fast.app.gql('mutation { createTask(kind: "k") { id } }', {}, { authorization: `Bearer ${KEY}` });
    const before = await handled(fast);
    const req = httpRequest(`${fast.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      agent: false,
    });
    req.on('error', () => {});
    req.end(JSON.stringify({ query: `{ awaitTask(id: "${data.createTask.id}", timeout: 30) { id } }` }));
    await expect.poll(() => fast.app.app.tasks.stats().waiters).toBe(1);
    req.destroy();
    await expect.poll(() => fast.app.app.tasks.stats().waiters).toBe(0);
    await expect.poll(async () => (await handled(fast)).fast).toBe(before.fast + 1);
  });
});
