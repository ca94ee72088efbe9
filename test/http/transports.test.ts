import { describe, expect, it } from 'vitest';
import type { Task } from '../../src/tasks/task.js';
import { useApp } from '../helpers/app.js';
import { collect, openSse, wsClient } from '../helpers/clients.js';
import { metricsText, sample, type GqlError } from '../helpers/graphql.js';
import { captureLog } from '../helpers/logs.js';

/**
 * One operation pipeline for every transport: the same plugins (masking, the unexpected-error
 * log, Prometheus metrics, graphql-armor's limits) act on operations over HTTP, Server-Sent
 * Events and graphql-ws, each proven over a real socket.
 */

let logged: ReturnType<typeof captureLog>;
const t = useApp({ MAX_QUERY_ALIASES: '2', MAX_QUERY_DEPTH: '3' }, () => {
  logged = captureLog();
  return { log: logged.log };
});

const createTask = async () => (await t.gql<{ createTask: { id: string } }>('mutation { createTask(kind: "k") { id } }')).data!.createTask.id;

/** `graphql_envelop_request` for one operation type, from /metrics. */
const requests = async (operationType: string) => sample(await metricsText(t.url), 'graphql_envelop_request', { operationType }) ?? 0;

describe('over graphql-ws', () => {
  it('an error thrown in a resolver during a subscription event is masked for every subscriber and logged once, with its context', async () => {
    const id = await createTask();
    const client = wsClient(t.wsUrl);
    const query = 'subscription Watch($id: ID!) { taskUpdated(id: $id) { revision updatedAt } }';
    const subscribers = [collect(client, query, { id }), collect(client, query, { id })];
    await expect.poll(() => subscribers.every((s) => s.results.length === 1)).toBe(true);
    // A row whose timestamp cannot be written (as a corrupt one would be): DateTime's serializer throws a RangeError.
    const row = (await t.app.storage.store.get(id))!;
    t.app.events.publish({ ...row, revision: row.revision + 1, updatedAt: new Date(Number.NaN) } as Task);
    await expect.poll(() => subscribers.every((s) => s.results.length === 2)).toBe(true);
    for (const { results } of subscribers) {
      expect(results[1]).toEqual({ data: null, errors: [expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })] });
      expect(JSON.stringify(results[1])).not.toMatch(/Invalid time value/);
    }
    expect(logged.errors()).toEqual([
      expect.objectContaining({ msg: 'unexpected error in a resolver', operationName: 'Watch', path: 'taskUpdated.updatedAt', err: expect.objectContaining({ message: 'Invalid time value' }) }),
    ]);
    subscribers.forEach((s) => s.unsubscribe());
    await client.dispose();
  });
});

describe('graphql_envelop_request counts operations on every transport', () => {
  it('a query and a subscription over graphql-ws, a subscription over SSE', async () => {
    const id = await createTask();
    const [queries, subscriptions] = [await requests('query'), await requests('subscription')];

    const client = wsClient(t.wsUrl);
    const read = collect(client, 'query ($id: ID!) { task(id: $id) { id } }', { id });
    expect(await read.finished).toEqual([{ data: { task: { id } } }]);
    expect(await requests('query')).toBe(queries + 1);

    // A subscription is counted when its stream starts, once, however long it runs.
    const ws = collect(client, 'subscription ($id: ID!) { taskUpdated(id: $id) { revision } }', { id });
    await expect.poll(() => ws.results.length).toBe(1);
    expect(await requests('subscription')).toBe(subscriptions + 1);
    ws.unsubscribe();
    await client.dispose();

    const sse = openSse(t.url, 'subscription ($id: ID!) { taskUpdated(id: $id) { revision } }', { id });
    await expect.poll(() => sse.events.length).toBeGreaterThan(0);
    expect(await requests('subscription')).toBe(subscriptions + 2);
    sse.abort();
    await sse.done;
    expect(await requests('subscription')).toBe(subscriptions + 2);
  });
});

describe("graphql-armor's limits refuse the same documents on every transport", () => {
  const documents = {
    aliases: '{ a: task(id: "x") { id } b: task(id: "x") { id } c: task(id: "x") { id } }',
    depth: '{ tasks { edges { node { error { message } } } } }',
  };

  for (const [limit, query] of Object.entries(documents)) {
    it(`too many ${limit}: the same refusal over HTTP, SSE and WebSocket`, async () => {
      const http = (await t.gql(query)).errors!;
      expect(http.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);

      const sse = openSse(t.url, query);
      const sseErrors = await sse.done.then(
        () => sse.events.flatMap((event) => (event.data?.errors ?? []) as GqlError[]),
        (error: Error) => (JSON.parse(/\{.*\}$/s.exec(error.message)![0]) as { errors: GqlError[] }).errors,
      );

      const client = wsClient(t.wsUrl);
      const ws = collect(client, query);
      const wsErrors = (await ws.finished.then(() => [], (errors: GqlError[]) => errors)) as GqlError[];
      await client.dispose();

      const messages = (errors: GqlError[]) => errors.map((error) => [error.message, error.extensions?.code]);
      expect(messages(sseErrors)).toEqual(messages(http));
      expect(messages(wsErrors)).toEqual(messages(http));
    });
  }
});
