/**
 * Per-tenant quotas over real sockets: the write rate (429 with Retry-After over HTTP, the
 * error over graphql-ws), the cap on queued tasks, both counted on /metrics; `maxAttempts`
 * bounded.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_ATTEMPTS } from '../../src/tasks/task.js';
import { useApps } from '../helpers/app.js';
import { ackedSocket } from '../helpers/clients.js';
import { bearer, code, gqlRequest, metric } from '../helpers/graphql.js';

const KEYS = {
  aliceClient: 'quota-alice-client-key-0123',
  aliceWorker: 'quota-alice-worker-key-0123',
  bobClient: 'quota-bob-client-key-01234',
};
const API_KEYS = `${KEYS.aliceClient}:alice:client,${KEYS.aliceWorker}:alice:worker,${KEYS.bobClient}:bob:client`;

const apps = useApps();
afterEach(() => {
  vi.useRealTimers();
});

const CREATE = 'mutation($kind: String!, $max: Int) { createTask(kind: $kind, maxAttempts: $max) { id maxAttempts } }';
const LIST = '{ tasks(first: 100) { edges { node { kind status } } } }';

/** A createTask over real HTTP with `key`: status, headers (Retry-After) and the GraphQL answer. */
const createOver = (url: string, key: string, kind: string) => gqlRequest(url, CREATE, { kind }, { headers: bearer(key) });

describe('write rate per tenant', () => {
  it('past TENANT_WRITES_PER_SECOND and its burst: 429 with Retry-After over HTTP, the coded error over graphql-ws, nothing written; other tenants unaffected; counted on /metrics', async () => {
    // The service's clock is the Date: held still, nothing refills until it is moved.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-05T10:00:00.000Z') });
    const t = await apps.start({ API_KEYS, TENANT_WRITES_PER_SECOND: '0.5', TENANT_WRITE_BURST: '2' });
    expect((await createOver(t.url, KEYS.aliceClient, 'a1')).status).toBe(200);
    expect((await createOver(t.url, KEYS.aliceWorker, 'a2')).status).toBe(200);

    const refused = await createOver(t.url, KEYS.aliceClient, 'a3');
    expect([refused.status, refused.headers.get('retry-after'), code(refused)]).toEqual([429, '2', 'RESOURCE_EXHAUSTED']);
    expect(refused.errors?.[0]?.extensions).toEqual({ code: 'RESOURCE_EXHAUSTED', retryAfterSeconds: 2 });
    expect(refused.data).toBeNull();

    // The same tenant over graphql-ws (its worker key): the error, with when to retry.
    const socket = await ackedSocket(t.wsUrl, bearer(KEYS.aliceWorker));
    socket.send({ id: 'w1', type: 'subscribe', payload: { query: 'mutation { claimTask(workerId: "w") { id } }' } });
    await expect.poll(() => socket.messages.find((m) => m.id === 'w1' && m.type === 'next')).toBeTruthy();
    const overWs = socket.messages.find((m) => m.id === 'w1' && m.type === 'next');
    expect(overWs.payload.errors.map((error: { extensions: unknown }) => error.extensions)).toEqual([{ code: 'RESOURCE_EXHAUSTED', retryAfterSeconds: 2 }]);

    // Bob's writes are his own.
    expect((await createOver(t.url, KEYS.bobClient, 'b1')).status).toBe(200);

    // Two seconds later, one more write for Alice; then refused again.
    vi.setSystemTime(Date.now() + 2_000);
    expect((await createOver(t.url, KEYS.aliceClient, 'a4')).status).toBe(200);
    expect((await createOver(t.url, KEYS.aliceClient, 'a5')).status).toBe(429);

    const listed = await t.gql(LIST, {}, bearer(KEYS.aliceClient));
    expect(listed.data.tasks.edges.map(({ node }: { node: { kind: string } }) => node.kind)).toEqual(['a4', 'a2', 'a1']);
    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'tenant_write_rate' })).toBe(3);
    expect(await metric(t.url, 'task_api_writes_total', { operation: 'create', outcome: 'RESOURCE_EXHAUSTED' })).toBe(2);
    socket.socket.close();
    await socket.closed;
  });
});

describe('queued tasks per tenant', () => {
  it('createTask past MAX_QUEUED_PER_TENANT: 429 RESOURCE_EXHAUSTED, nothing created, until a claim takes one; other tenants unaffected; counted on /metrics', async () => {
    const t = await apps.start({ API_KEYS, MAX_QUEUED_PER_TENANT: '2' });
    expect((await createOver(t.url, KEYS.aliceClient, 'q1')).status).toBe(200);
    expect((await createOver(t.url, KEYS.aliceClient, 'q2')).status).toBe(200);
    const refused = await createOver(t.url, KEYS.aliceClient, 'q3');
    expect([refused.status, refused.headers.get('retry-after'), code(refused)]).toEqual([429, null, 'RESOURCE_EXHAUSTED']);
    expect(refused.errors?.[0]?.message).toMatch(/2 queued tasks/);
    expect((await createOver(t.url, KEYS.bobClient, 'b1')).status).toBe(200);

    const claimed = await t.gql('mutation { claimTask(workerId: "w") { kind } }', {}, bearer(KEYS.aliceWorker));
    expect(claimed.data.claimTask.kind).toBe('q1');
    expect((await createOver(t.url, KEYS.aliceClient, 'q4')).status).toBe(200);
    expect((await createOver(t.url, KEYS.aliceClient, 'q5')).status).toBe(429);

    const listed = await t.gql(LIST, {}, bearer(KEYS.aliceClient));
    expect(listed.data.tasks.edges.map(({ node }: { node: { kind: string; status: string } }) => [node.kind, node.status])).toEqual([
      ['q4', 'QUEUED'],
      ['q2', 'QUEUED'],
      ['q1', 'RUNNING'],
    ]);
    expect(await metric(t.url, 'task_api_quota_refusals_total', { reason: 'tenant_queued_tasks' })).toBe(2);
  });
});

describe('maxAttempts', () => {
  it(`is at most ${MAX_ATTEMPTS}: one more is BAD_USER_INPUT naming the bound, and nothing is created`, async () => {
    const t = await apps.start();
    expect(MAX_ATTEMPTS).toBe(100);
    const ok = await t.gql(CREATE, { kind: 'bounded', max: MAX_ATTEMPTS });
    expect(ok.data.createTask.maxAttempts).toBe(MAX_ATTEMPTS);
    for (const max of [MAX_ATTEMPTS + 1, 2_147_483_647]) {
      const refused = await t.gql(CREATE, { kind: 'unbounded', max });
      expect(code(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.message).toContain(String(MAX_ATTEMPTS));
    }
    const listed = await t.gql('{ tasks { edges { node { kind } } } }');
    expect(listed.data.tasks.edges.map((edge: { node: { kind: string } }) => edge.node.kind)).toEqual(['bounded']);
  });
});
