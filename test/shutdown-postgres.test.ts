/**
 * Graceful shutdown with the app on a fresh PostgreSQL database: held long-polls are answered
 * with the latest state, streams (graphql-ws and SSE) end, WebSockets close with 1001.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ackedSocket, collect, openSse, wsClient } from './helpers/clients.js';
import { gqlRequest, metric } from './helpers/graphql.js';
import { describeWithPostgres, freshDatabase } from './helpers/postgres.js';


describeWithPostgres('graceful shutdown on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let t: TestApp;
  beforeEach(async () => {
    database = await freshDatabase();
    t = await startApp({ DATABASE_URL: database.url });
  });
  afterEach(async () => {
    await t.close();
    await database.drop();
  });

  it('answers held long-polls with the latest state, ends streams, closes WebSockets with 1001', async () => {
    expect(t.app.storage.engine).toBe('postgres');
    const { data } = await t.gql(`mutation { createTask(kind: "shutdown") { id } }`);
    const id = data.createTask.id as string;
    await t.gql(`mutation { claimTask(workerId: "w1", leaseSeconds: 60) { id } }`);

    const graphqlWait = gqlRequest(t.url, `query($id: ID!) { awaitTask(id: $id, timeout: 60) { id status done revision progress } }`, { id });
    const restWait = fetch(`${t.url}/api/queue/poll/${id}/wait?timeout=60`).then(async (response) => ({ status: response.status, body: await response.json() }));
    const SUBSCRIBE = `subscription($id: ID!) { taskUpdated(id: $id) { revision } }`;
    const ws = wsClient(t.wsUrl);
    const subscription = collect(ws, SUBSCRIBE, { id });
    const sse = openSse(t.url, SUBSCRIBE, { id });
    const idle = await ackedSocket(t.wsUrl);
    await expect.poll(() => metric(t.url, 'task_api_waiters')).toBe(2);
    await expect.poll(() => metric(t.url, 'task_api_subscriptions')).toBe(2);

    // A change while they are held: not final, so the waits go on, and the streams carry it.
    await t.gql(`mutation($id: ID!) { reportProgress(id: $id, progress: 60) { revision } }`, { id });
    await expect.poll(() => subscription.results.map((result) => result.data.taskUpdated.revision)).toEqual([2, 3]);
    await expect.poll(() => sse.events.map((event) => event.data?.data?.taskUpdated?.revision)).toEqual([2, 3]);
    expect(t.app.tasks.stats().waiters).toBe(2);

    await t.app.close();

    expect(await graphqlWait).toEqual({ status: 200, data: { awaitTask: { id, status: 'RUNNING', done: false, revision: 3, progress: 60 } } });
    expect(await restWait).toMatchObject({ status: 200, body: { task_id: id, status: 'running', progress: 60, revision: 3 } });
    // Completed by the server (a `complete` message) before the 1001 close, not broken off.
    expect(await subscription.finished.then((results) => results.length, (error) => `closed: ${JSON.stringify(error?.code ?? error)}`)).toBe(2);
    await sse.done;
    expect(sse.events.map((event) => event.event)).toEqual(['next', 'next', 'complete']);
    expect((await idle.closed).code).toBe(1001);
    expect(t.app.tasks.stats()).toEqual({ waiters: 0, subscriptions: 0 });
    expect(t.app.events.listenerCount()).toBe(0);
    // The database was closed last: the pool is ended.
    expect(await t.app.storage.isReady()).toBe(false);
    await ws.dispose();
  });
});
