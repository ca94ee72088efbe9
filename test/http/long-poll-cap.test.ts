/**
 * The per-client-address cap on held long-polls (MAX_WAITERS_PER_CLIENT), over real HTTP:
 * GraphQL `awaitTask` and REST `/wait` count against one cap per address.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { code, metric } from '../helpers/graphql.js';

const t = useApp({ MAX_WAITERS_PER_CLIENT: '2', MAX_WAITERS: '100' });

const AWAIT = `query($id: ID!) { awaitTask(id: $id, timeout: 30) { id status done revision result } }`;

/**
 * A request from a chosen local address: Linux routes all of 127.0.0.0/8 to loopback, so a
 * connection from 127.0.0.2 is a second client address to a server on 127.0.0.1.
 */
function requestFrom(localAddress: string, url: string, init: { method?: string; body?: string } = {}) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', localAddress, headers: init.body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const graphqlFrom = (address: string, id: string) =>
  requestFrom(address, `${t.url}/graphql`, { method: 'POST', body: JSON.stringify({ query: AWAIT, variables: { id } }) });
const restFrom = (address: string, id: string) => requestFrom(address, `${t.url}/api/queue/poll/${id}/wait?timeout=30`);

describe('held long-polls per client address', () => {
  it('past MAX_WAITERS_PER_CLIENT: RESOURCE_EXHAUSTED (REST 429); the held ones are undisturbed; another address is not refused', async () => {
    const { data } = await t.gql(`mutation { createTask(kind: "capped") { id } }`);
    const id = data.createTask.id as string;
    const heldGraphql = graphqlFrom('127.0.0.1', id);
    const heldRest = restFrom('127.0.0.1', id);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(2);

    const refusedGraphql = await graphqlFrom('127.0.0.1', id);
    expect(refusedGraphql.status).toBe(429);
    expect(code(refusedGraphql.body)).toBe('RESOURCE_EXHAUSTED');
    expect(refusedGraphql.body.data?.awaitTask ?? null).toBeNull();
    const refusedRest = await restFrom('127.0.0.1', id);
    expect(refusedRest).toMatchObject({ status: 429, body: { error: { code: 'RESOURCE_EXHAUSTED' } } });
    // GET on GraphQL is refused the same way.
    const refusedGet = await t.gql(AWAIT, { id }, {}, { method: 'GET' });
    expect([refusedGet.status, code(refusedGet)]).toEqual([429, 'RESOURCE_EXHAUSTED']);
    expect(t.app.tasks.stats().waiters).toBe(2);
    expect(await metric(t.url, 'task_api_waiters')).toBe(2);

    // The cap is per address, not a total: another client is held.
    const other = graphqlFrom('127.0.0.2', id);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(3);

    // A change that is not final wakes none of them; the completion answers all three.
    await t.gql(`mutation { claimTask(workerId: "w1") { id } }`);
    expect(t.app.tasks.stats().waiters).toBe(3);
    const done = await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: {ok: true}) { revision } }`, { id });
    const expected = { id, status: 'COMPLETED', done: true, revision: done.data.completeTask.revision, result: { ok: true } };
    expect(await heldGraphql).toEqual({ status: 200, body: { data: { awaitTask: expected } } });
    expect(await other).toEqual({ status: 200, body: { data: { awaitTask: expected } } });
    expect(await heldRest).toMatchObject({ status: 200, body: { task_id: id, status: 'completed', result: { ok: true } } });
    await expect.poll(() => metric(t.url, 'task_api_waiters')).toBe(0);

    // The slots came back: the address may hold again.
    const { data: next } = await t.gql(`mutation { createTask(kind: "capped") { id } }`);
    const again = [graphqlFrom('127.0.0.1', next.createTask.id), restFrom('127.0.0.1', next.createTask.id)];
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(2);
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: next.createTask.id });
    expect((await Promise.all(again)).map((answer) => answer.status)).toEqual([200, 200]);
  });
});
