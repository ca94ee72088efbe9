/**
 * Authentication before the document is looked at, and no schema suggestions in any error,
 * over real sockets on every transport: GraphQL over HTTP on the lean path and through
 * `yoga.handle` (GRAPHQL_FAST_PATH=false), GET, SSE and graphql-ws.
 */
import { describe, expect, it } from 'vitest';
import { useApps, type TestApp } from '../helpers/app.js';
import { ackedSocket, openSse, rawSocket } from '../helpers/clients.js';
import { bearer, codes, gqlRequest, metric, type GqlError } from '../helpers/graphql.js';

const KEY = 'auth-first-client-key-0123456789';
const API_KEYS = `${KEY}:acme:client`;

const apps = useApps();

/** The app with the lean path, and one that sends every request through `yoga.handle`. */
const startBoth = async (): Promise<[lean: TestApp, yoga: TestApp]> =>
  Promise.all([apps.start({ API_KEYS }), apps.start({ API_KEYS, GRAPHQL_FAST_PATH: 'false' })]);

/**
 * Documents that, before authentication, told a caller without a key about the schema: a
 * misspelt field, argument, type or enum value (each answered with its right spelling), a
 * syntax error, an introspection query.
 */
const PROBES = [
  '{ taks { id } }',
  '{ task(idd: "x") { id } }',
  '{ tasks(status: QUEUD) { edges { cursor } } }',
  'query($s: TaskStatu) { tasks(status: $s) { edges { cursor } } }',
  '{ tasks { edges { nod { id } } } }',
  '{',
  '{ __schema { types { name } } }',
];

/** A suggestion, or a marker where one was hidden, or the enum value the probes misspell: none may appear in any error. */
const SUGGESTED = [/Did you mean/i, /Suggestion/i, /QUEUED/];

/** The message graphql-js gives each probe, its suggestion taken out: nothing else is lost. */
const STRIPPED: Record<string, string> = {
  '{ taks { id } }': 'Cannot query field "taks" on type "Query".',
  '{ tasks(status: QUEUD) { edges { cursor } } }': 'Value "QUEUD" does not exist in "TaskStatus" enum.',
  'query($s: TaskStatu) { tasks(status: $s) { edges { cursor } } }': 'Unknown type "TaskStatu".',
  '{ tasks { edges { nod { id } } } }': 'Cannot query field "nod" on type "TaskEdge".',
  'subscription { taskUpdated(id: "x") { statuss } }': 'Cannot query field "statuss" on type "Task".',
};

function expectNoSuggestion(errors: readonly GqlError[] | undefined, context: string, query?: string): void {
  expect(errors?.length, `${context}: an error`).toBeGreaterThan(0);
  for (const { message } of errors!) {
    for (const leak of SUGGESTED) expect(message, context).not.toMatch(leak);
  }
  if (query && STRIPPED[query]) expect(errors!.map((error) => error.message), context).toContain(STRIPPED[query]);
}

describe('a request without a valid key is refused before its document is parsed or validated', () => {
  it('over HTTP (lean path, yoga.handle, GET): 401 UNAUTHENTICATED for every probe, however wrong the document', async () => {
    const [lean, yoga] = await startBoth();
    for (const [name, app] of [['lean', lean], ['yoga', yoga]] as const) {
      for (const query of PROBES) {
        for (const headers of [{}, bearer('not-a-key-but-long-enough')]) {
          for (const method of ['POST', 'GET'] as const) {
            const result = await gqlRequest(app.url, query, undefined, { headers, method });
            const context = `${name} ${method} ${query}`;
            expect([result.status, codes(result)], context).toEqual([401, ['UNAUTHENTICATED']]);
            expect(JSON.stringify(result), context).not.toMatch(/taks|idd|QUEUD|TaskStatu|nod\b|Syntax|__schema/);
          }
        }
      }
    }
    // The lean app answered every one of them (POST and GET, no key and a wrong one) on its lean path.
    expect(await metric(lean.url, 'task_api_graphql_http_requests_total', { handler: 'fast' })).toBe(PROBES.length * 4);
  });

  it('over SSE: 401 UNAUTHENTICATED, whatever the subscription document', async () => {
    const [lean] = await startBoth();
    for (const query of ['subscription { taskUpdatd(id: "x") { id } }', 'subscription { taskUpdated(id: "x") { statuss } }', 'subscription {']) {
      const search = new URLSearchParams({ query });
      const response = await fetch(`${lean.url}/graphql?${search}`, { headers: { accept: 'text/event-stream' } });
      const text = await response.text();
      expect(response.status, query).toBe(401);
      expect(text, query).toContain('UNAUTHENTICATED');
      expect(text, query).not.toMatch(/taskUpdatd|statuss|Syntax|VALIDATION|PARSE/);
    }
  });

  it('over graphql-ws: a subscribe before an accepted connection_init closes the socket (4401), and a bad key is refused (4403), before any document is read', async () => {
    const [lean] = await startBoth();
    const early = await rawSocket(lean.wsUrl);
    early.send({ id: '1', type: 'subscribe', payload: { query: '{ taks { id } }' } });
    expect((await early.closed).code).toBe(4401);
    expect(early.messages).toEqual([]);

    const badKey = await rawSocket(lean.wsUrl);
    badKey.send({ type: 'connection_init', payload: bearer('not-a-key-but-long-enough') });
    expect((await badKey.closed).code).toBe(4403);
    expect(badKey.messages).toEqual([]);
  });
});

describe('no error names what the schema holds: suggestions are stripped on every transport', () => {
  const VARIABLE_ENUM = 'query($s: TaskStatus) { tasks(status: $s) { edges { cursor } } }';

  it('over HTTP, lean path and yoga.handle alike, POST and GET: validation errors and variable coercion errors', async () => {
    const [lean, yoga] = await startBoth();
    for (const [name, app] of [['lean', lean], ['yoga', yoga]] as const) {
      for (const method of ['POST', 'GET'] as const) {
        for (const query of PROBES.slice(0, 5)) {
          const result = await gqlRequest(app.url, query, undefined, { headers: bearer(KEY), method });
          expectNoSuggestion(result.errors, `${name} ${method} ${query}`, query);
          expect(new Set(codes(result)), `${name} ${method} ${query}`).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
        }
        const coerced = await gqlRequest(app.url, VARIABLE_ENUM, { s: 'QUEUD' }, { headers: bearer(KEY), method });
        expectNoSuggestion(coerced.errors, `${name} ${method} variables`);
        expect(codes(coerced)).toEqual(['BAD_USER_INPUT']);
        expect(coerced.errors![0]!.message).toBe('Variable "$s" got invalid value "QUEUD"; Value "QUEUD" does not exist in "TaskStatus" enum.');
      }
    }
    // Every one of them was answered on the lean path of the lean app.
    expect(await metric(lean.url, 'task_api_graphql_http_requests_total', { handler: 'fast' })).toBe(2 * 6);
  });

  it('over SSE', async () => {
    const [lean] = await startBoth();
    for (const query of ['subscription { taskUpdatd(id: "x") { id } }', 'subscription { taskUpdated(id: "x") { statuss } }', 'subscription { taskUpdated(idd: "x") { id } }']) {
      const stream = openSse(lean.url, query, {}, bearer(KEY));
      await stream.done;
      expect(stream.events.map((event) => event.event), query).toEqual(['next', 'complete']);
      expectNoSuggestion(stream.events[0]!.data.errors, `SSE ${query}`, query);
    }
  });

  it('over graphql-ws: validation errors in `error` messages, variable coercion errors in results', async () => {
    const [lean] = await startBoth();
    const socket = await ackedSocket(lean.wsUrl, bearer(KEY));
    const operations = [
      ...PROBES.slice(0, 5).map((query) => ({ query })),
      { query: 'subscription { taskUpdated(id: "x") { statuss } }' },
      { query: VARIABLE_ENUM, variables: { s: 'QUEUD' } },
    ];
    operations.forEach((payload, i) => socket.send({ id: `op${i}`, type: 'subscribe', payload }));
    const answerOf = (id: string) => socket.messages.find((m) => m.id === id && (m.type === 'error' || m.type === 'next'));
    await expect.poll(() => operations.every((_, i) => answerOf(`op${i}`))).toBe(true);
    operations.forEach((payload, i) => {
      const answer = answerOf(`op${i}`);
      const errors = answer.type === 'error' ? answer.payload : answer.payload.errors;
      expectNoSuggestion(errors, `graphql-ws ${payload.query}`, payload.query);
    });
    expect(answerOf(`op${operations.length - 1}`).type).toBe('next');
    socket.socket.close();
    await socket.closed;
  });
});
