import { describe, expect, it } from 'vitest';
import { useApps, type TestApp } from '../helpers/app.js';
import { collect, rawSocket, wsClient } from '../helpers/clients.js';
import { code, type GqlError } from '../helpers/graphql.js';

const apps = useApps();
let t: TestApp;

const taskCount = async () => (await t.gql(`{ tasks(first: 100) { edges { cursor } } }`)).data.tasks.edges.length;
const aliasedAwaits = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: awaitTask(id: "x", timeout: 30) { id }`).join(' ')} }`;
const nested = (levels: number) => {
  let selection = 'message';
  for (let i = 0; i < levels; i++) selection = `error { ${selection} }`;
  return `{ task(id: "x") { ${selection} } }`;
};

describe('operation shape limits (graphql-armor), each with a code, holding nothing', () => {
  it('1000 aliased awaitTasks', async () => {
    t = await apps.start({ MAX_QUERY_TOKENS: '100000' });
    const result = await t.gql(aliasedAwaits(1000));
    expect(code(result)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/alias/i);
    expect(t.app.tasks.stats().waiters).toBe(0);
  });

  it('too many tokens', async () => {
    t = await apps.start();
    expect(code(await t.gql(aliasedAwaits(1000)))).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('depth 50 and recursive fragments', async () => {
    t = await apps.start();
    expect(code(await t.gql(nested(50)))).toBe('GRAPHQL_VALIDATION_FAILED');
    const cycle = await t.gql('fragment A on Task { ...B } fragment B on Task { ...A } { task(id: "x") { ...A } }');
    expect(code(cycle)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('field suggestions are not leaked', async () => {
    t = await apps.start();
    const result = await t.gql('{ task(id: "x") { idd } }');
    expect(code(result)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it('the same rejections over graphql-ws carry their code and leave the socket open', async () => {
    t = await apps.start({ MAX_QUERY_TOKENS: '100000' });
    const client = wsClient(t.wsUrl);
    const aliases = await collect(client, aliasedAwaits(1000)).finished.then(
      () => 'no error',
      (errors: GqlError[]) => code({ errors }),
    );
    expect(aliases).toBe('GRAPHQL_VALIDATION_FAILED');
    const depth = await collect(client, nested(50)).finished.then(
      () => 'no error',
      (errors: GqlError[]) => code({ errors }),
    );
    expect(depth).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await collect(client, '{ task(id: "x") { id } }').finished).toEqual([{ data: { task: null } }]);
    await client.dispose();
  });
});

describe('HTTP request limits', () => {
  it('a 10 MB body is refused with 413 and nothing is created', async () => {
    t = await apps.start();
    const body = JSON.stringify({ query: 'mutation($i: JSON) { createTask(kind: "x", input: $i) { id } }', variables: { i: 'x'.repeat(10 * 1024 * 1024) } });
    const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(await taskCount()).toBe(0);
  });

  it('an input over MAX_PAYLOAD_BYTES is BAD_USER_INPUT', async () => {
    t = await apps.start({ MAX_PAYLOAD_BYTES: '1000' });
    const result = await t.gql('mutation($i: JSON) { createTask(kind: "x", input: $i) { id } }', { i: 'x'.repeat(2000) });
    expect(code(result)).toBe('BAD_USER_INPUT');
    expect(await taskCount()).toBe(0);
  });

  it('a batch is refused', async () => {
    t = await apps.start();
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: 'mutation { createTask(kind: "a") { id } }' }, { query: 'mutation { createTask(kind: "b") { id } }' }]),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(await taskCount()).toBe(0);
  });

  it('a mutation over GET is refused', async () => {
    t = await apps.start();
    const query = encodeURIComponent('mutation { createTask(kind: "x") { id } }');
    const response = await fetch(`${t.url}/graphql?query=${query}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(405);
    expect(await taskCount()).toBe(0);
  });

  it('CSRF: simple POSTs are refused; JSON POSTs and GET queries pass', async () => {
    t = await apps.start();
    const mutation = 'mutation { createTask(kind: "x") { id } }';
    const textPlain = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: mutation }) });
    expect(textPlain.status).toBeGreaterThanOrEqual(400);
    const form = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent(mutation)}`,
    });
    expect(form.status).toBe(403);
    expect((await form.json()).errors[0].extensions.code).toBe('FORBIDDEN');
    expect(await taskCount()).toBe(0);

    const withHeader = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf': '1' },
      body: `query=${encodeURIComponent('{ task(id: "x") { id } }')}`,
    });
    expect(await withHeader.json()).toEqual({ data: { task: null } });

    const query = encodeURIComponent('{ task(id: "x") { id } }');
    expect(await (await fetch(`${t.url}/graphql?query=${query}`)).json()).toEqual({ data: { task: null } });
  });

  it('no stack traces, even with NODE_ENV=development', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    try {
      t = await apps.start();
      await t.app.storage.close();
      const result = await t.gql('{ task(id: "x") { id } }');
      expect(result.errors?.[0]).toEqual(expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }));
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('introspection and GraphiQL can be switched off', async () => {
    t = await apps.start({ INTROSPECTION: 'false', GRAPHIQL: 'false' });
    expect(code(await t.gql('{ __schema { types { name } } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/<html/i);
  });
});

describe('capacity limits: RESOURCE_EXHAUSTED, 429 on HTTP, nothing already held disturbed', () => {
  it('held long-polls in total', async () => {
    t = await apps.start({ MAX_WAITERS: '2' });
    const { data } = await t.gql('mutation { createTask(kind: "x") { id } }');
    const id = data.createTask.id as string;
    const hold = () => fetch(`${t.url}/api/queue/poll/${id}/wait?timeout=30`).then(async (r) => ({ status: r.status, body: await r.json() }));
    const held = [hold(), hold()];
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(2);
    const refused = await t.gql(`query($id: ID!) { awaitTask(id: $id, timeout: 30) { id } }`, { id });
    expect(refused.status).toBe(429);
    expect(code(refused)).toBe('RESOURCE_EXHAUSTED');
    const rest = await fetch(`${t.url}/api/queue/poll/${id}/wait?timeout=30`);
    expect(rest.status).toBe(429);
    expect((await rest.json()).error.code).toBe('RESOURCE_EXHAUSTED');
    expect(t.app.tasks.stats().waiters).toBe(2);
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id });
    // The held ones were not disturbed: the cancellation is what answers them.
    expect(await Promise.all(held)).toEqual([0, 1].map(() => ({ status: 200, body: expect.objectContaining({ task_id: id, status: 'cancelled' }) })));
  });

  it('operations per WebSocket connection, and connections in total', async () => {
    t = await apps.start({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '2', MAX_CONNECTIONS: '1' });
    const { data } = await t.gql('mutation { createTask(kind: "x") { id } }');
    const client = wsClient(t.wsUrl);
    const subscribe = () => collect(client, `subscription($id: ID!) { taskUpdated(id: $id) { revision } }`, { id: data.createTask.id });
    const first = subscribe();
    const second = subscribe();
    // Both current states received, not only both streams registered: on PostgreSQL a stream
    // reads its first state after registering, and a cancel before that read would skip it.
    await expect.poll(() => [first.results.length, second.results.length]).toEqual([1, 1]);
    expect(t.app.tasks.stats().subscriptions).toBe(2);
    const third = await subscribe().finished.then(
      () => 'no error',
      (errors: GqlError[]) => code({ errors }),
    );
    expect(third).toBe('RESOURCE_EXHAUSTED');
    expect(t.app.tasks.stats().subscriptions).toBe(2);

    const extra = await rawSocket(t.wsUrl).then(
      () => 'opened',
      (error: Error) => error.message,
    );
    expect(extra).toMatch(/503/);
    // The two held streams were not disturbed: both get the final state and complete.
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: data.createTask.id });
    const revisions = (results: { data: { taskUpdated: { revision: number } } }[]) => results.map((r) => r.data.taskUpdated.revision);
    expect([revisions(await first.finished), revisions(await second.finished)]).toEqual([[1, 2], [1, 2]]);
    await client.dispose();
  });

  it('a WebSocket frame over MAX_BODY_BYTES closes that socket with 1009', async () => {
    t = await apps.start({ MAX_BODY_BYTES: '10000' });
    const raw = await rawSocket(t.wsUrl);
    raw.send({ type: 'connection_init' });
    raw.send({ id: '1', type: 'subscribe', payload: { query: `{ task(id: "${'x'.repeat(20_000)}") { id } }` } });
    expect((await raw.closed).code).toBe(1009);
  });
});
