import { describe, expect, it } from 'vitest';
import { unauthenticated } from '../../src/tasks/errors.js';
import { useApp } from '../helpers/app.js';
import { collect, rawSocket, wsClient } from '../helpers/clients.js';
import { bearer, code } from '../helpers/graphql.js';
import { API_KEYS, KEYS } from '../helpers/keys.js';
import { captureLog } from '../helpers/logs.js';
import { runningTask } from '../helpers/tasks.js';

let logged: ReturnType<typeof captureLog>;
const t = useApp({ API_KEYS, WS_INIT_TIMEOUT_MS: '300' }, () => {
  logged = captureLog('debug', { redact: false });
  return { log: logged.log };
});

const aliceRunningTask = () => runningTask(t.url, { kind: 'secret', workerId: 'wa', headers: bearer(KEYS.aliceClient), workerHeaders: bearer(KEYS.aliceWorker) });

describe('API keys over HTTP', () => {
  it('no key or an unknown key: 401 UNAUTHENTICATED, on GraphQL and REST', async () => {
    for (const headers of [{}, bearer('wrong'), { authorization: KEYS.aliceClient }]) {
      const result = await t.gql(`{ tasks { edges { cursor } } }`, {}, headers);
      expect(result.status).toBe(401);
      expect(code(result)).toBe('UNAUTHENTICATED');
    }
    const rest = await fetch(`${t.url}/api/queue/poll/anything`);
    expect(rest.status).toBe(401);
    expect((await rest.json()).error.code).toBe('UNAUTHENTICATED');
  });

  it('one refusal, word for word, over GraphQL (POST, GET, Server-Sent Events) and REST', async () => {
    const { message } = unauthenticated();
    const query = encodeURIComponent('{ __typename }');
    const post = await t.gql('{ __typename }');
    const get = await fetch(`${t.url}/graphql?query=${query}`, { headers: { accept: 'application/json' } });
    const sse = await fetch(`${t.url}/graphql?query=${encodeURIComponent('subscription { taskUpdated(id: "x") { id } }')}`, { headers: { accept: 'text/event-stream' } });
    const rest = await fetch(`${t.url}/api/queue/poll/anything`);
    const refusal = { message, extensions: { code: 'UNAUTHENTICATED' } };
    expect([post.status, post.errors]).toEqual([401, [refusal]]);
    expect([get.status, await get.json()]).toEqual([401, { errors: [refusal] }]);
    expect([sse.status, await sse.text()]).toEqual([401, expect.stringContaining(JSON.stringify({ errors: [refusal] }))]);
    expect([rest.status, await rest.json()]).toEqual([401, { error: { code: 'UNAUTHENTICATED', message } }]);
  });

  it('a client key cannot do worker writes: FORBIDDEN, nothing changed', async () => {
    const { data } = await t.gql(`mutation { createTask(kind: "x") { id } }`, {}, bearer(KEYS.aliceClient));
    const claim = await t.gql(`mutation { claimTask(workerId: "w") { id } }`, {}, bearer(KEYS.aliceClient));
    expect(code(claim)).toBe('FORBIDDEN');
    const task = await t.gql(`query($id: ID!) { task(id: $id) { status revision } }`, { id: data.createTask.id }, bearer(KEYS.aliceClient));
    expect(task.data.task).toEqual({ status: 'QUEUED', revision: 1 });
  });

  it("another tenant's task is indistinguishable from an unknown id on every path", async () => {
    const id = await aliceRunningTask();
    const bob = bearer(KEYS.bobWorker);
    const cases = async (taskId: string) => ({
      task: (await t.gql(`query($id: ID!) { task(id: $id) { id } }`, { id: taskId }, bob)).data,
      await: (await t.gql(`query($id: ID!) { awaitTask(id: $id, timeout: 5) { id } }`, { id: taskId }, bob)).data,
      list: (await t.gql(`{ tasks { edges { node { id } } } }`, {}, bob)).data,
      progress: code(await t.gql(`mutation($id: ID!) { reportProgress(id: $id, progress: 5) { id } }`, { id: taskId }, bob)),
      complete: code(await t.gql(`mutation($id: ID!) { completeTask(id: $id) { id } }`, { id: taskId }, bob)),
      cancel: code(await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: taskId }, bob)),
      heartbeat: code(await t.gql(`mutation($id: ID!) { heartbeat(id: $id, workerId: "wa") { id } }`, { id: taskId }, bob)),
      claim: (await t.gql(`mutation { claimTask(workerId: "wb") { id } }`, {}, bob)).data,
      rest: await fetch(`${t.url}/api/queue/poll/${taskId}`, { headers: bob }).then(async (r) => [r.status, await r.json()]),
      restWait: await fetch(`${t.url}/api/queue/poll/${taskId}/wait?timeout=5`, { headers: bob }).then(async (r) => [r.status, await r.json()]),
      subscription: await collect(
        wsClient(t.wsUrl, bob),
        `subscription($id: ID!) { taskUpdated(id: $id) { id } }`,
        { id: taskId },
      ).finished.then((results) => results.map((r) => r.errors?.[0]?.extensions?.code)),
    });
    const foreign = await cases(id);
    const unknown = await cases('no-such-task-id-xxxxxx');
    expect(foreign).toEqual(unknown);
    expect(foreign).toMatchObject({ task: { task: null }, await: { awaitTask: null }, cancel: 'NOT_FOUND', subscription: ['NOT_FOUND'] });
    const mine = await t.gql(`query($id: ID!) { task(id: $id) { status revision } }`, { id }, bearer(KEYS.aliceClient));
    expect(mine.data.task).toEqual({ status: 'RUNNING', revision: 2 });
  });

  it('an admin key reads and writes any tenant’s task by id', async () => {
    const id = await aliceRunningTask();
    const admin = bearer(KEYS.admin);
    expect((await t.gql(`query($id: ID!) { task(id: $id) { id } }`, { id }, admin)).data.task).toEqual({ id });
    expect((await t.gql(`mutation($id: ID!) { completeTask(id: $id) { status } }`, { id }, admin)).data.completeTask).toEqual({
      status: 'COMPLETED',
    });
  });

  it('SSE takes the key in the Authorization header', async () => {
    const id = await aliceRunningTask();
    const search = new URLSearchParams({ query: `subscription { taskUpdated(id: "${id}") { revision } }` });
    const denied = await fetch(`${t.url}/graphql?${search}`, { headers: { accept: 'text/event-stream', 'x-graphql-yoga-csrf': '1' } });
    expect(denied.status).toBe(401);
    await denied.body?.cancel();
    const abort = new AbortController();
    const allowed = await fetch(`${t.url}/graphql?${search}`, { headers: { accept: 'text/event-stream', ...bearer(KEYS.aliceClient) }, signal: abort.signal });
    expect(allowed.status).toBe(200);
    const reader = allowed.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"revision":2');
    abort.abort();
  });

  it('keys are never logged', async () => {
    await aliceRunningTask();
    await t.gql(`{ tasks { edges { cursor } } }`, {}, bearer('not-a-key-but-secret-looking'));
    for (const key of [...Object.values(KEYS), 'not-a-key-but-secret-looking']) expect(logged.text()).not.toContain(key);
  });
});

describe('API keys over graphql-ws', () => {
  it('a key in connection_init authenticates; a bad or missing key closes with 4403', async () => {
    const id = await aliceRunningTask();
    const good = collect(wsClient(t.wsUrl, bearer(KEYS.aliceClient)), `subscription($id: ID!) { taskUpdated(id: $id) { revision } }`, { id });
    await expect.poll(() => good.results.length).toBe(1);
    good.unsubscribe();
    for (const payload of [undefined, bearer('wrong')]) {
      const raw = await rawSocket(t.wsUrl);
      raw.send({ type: 'connection_init', payload });
      expect((await raw.closed).code).toBe(4403);
    }
  });

  it('no connection_init in time closes with 4408', async () => {
    const raw = await rawSocket(t.wsUrl);
    expect((await raw.closed).code).toBe(4408);
  });

  it('subscribe before ack closes with 4401; a second connection_init with 4429', async () => {
    const early = await rawSocket(t.wsUrl);
    early.send({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } });
    expect((await early.closed).code).toBe(4401);

    const twice = await rawSocket(t.wsUrl);
    twice.send({ type: 'connection_init', payload: bearer(KEYS.aliceClient) });
    twice.send({ type: 'connection_init', payload: bearer(KEYS.aliceClient) });
    expect((await twice.closed).code).toBe(4429);
  });
});
