/**
 * Roles and tenants over real HTTP and SSE, through the server as `npm start` runs it.
 */
import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { openSse } from '../helpers/clients.js';
import { bearer, code, type GqlResult } from '../helpers/graphql.js';
import { API_KEYS, KEYS } from '../helpers/keys.js';

const t = useApp({ API_KEYS });

const as = (key: string) => bearer(key);
const TASK = `query($id: ID!) { task(id: $id) { id status revision progress workerId leaseExpiresAt error { message } } }`;
const LIST = `query($status: TaskStatus, $kind: String, $first: Int, $after: String) {
  tasks(status: $status, kind: $kind, first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}`;

async function create(key: string, kind = 'job', extra: Record<string, unknown> = {}) {
  const result = await t.gql(
    `mutation($kind: String!, $input: JSON, $key: String) { createTask(kind: $kind, input: $input, idempotencyKey: $key) { id kind input } }`,
    { kind, ...extra },
    as(key),
  );
  expect(result.errors).toBeUndefined();
  return result.data.createTask as { id: string; kind: string; input: unknown };
}

/** A task of alice's, claimed by her worker "wa". */
async function aliceRunning() {
  const { id } = await create(KEYS.aliceClient, 'alice.job');
  const claimed = await t.gql(`mutation { claimTask(kinds: ["alice.job"], workerId: "wa", leaseSeconds: 60) { id } }`, {}, as(KEYS.aliceWorker));
  expect(claimed.data.claimTask).toEqual({ id });
  return id;
}

const read = async (id: string, key = KEYS.aliceClient) => (await t.gql(TASK, { id }, as(key))).data.task;

/** The error as a caller sees it, with the id it names blanked (an unknown id is echoed back too). */
const refusal = (result: GqlResult, id: string) => ({
  status: result.status,
  data: result.data,
  errors: result.errors?.map((error) => ({ ...error, message: error.message.replaceAll(id, '<id>') })),
});


describe('roles', () => {
  it('a client key may cancel its tenant’s queued and running tasks', async () => {
    const queued = await create(KEYS.aliceClient);
    const running = await aliceRunning();
    const cancel = `mutation($id: ID!) { cancelTask(id: $id, reason: "not needed") { status error { message code } } }`;
    for (const id of [queued.id, running]) {
      const result = await t.gql(cancel, { id }, as(KEYS.aliceClient));
      expect(result.errors).toBeUndefined();
      expect(result.data.cancelTask).toEqual({ status: 'CANCELLED', error: { message: 'not needed', code: 'CANCELLED' } });
    }
  });

  it('FORBIDDEN for a client key’s claimTask, heartbeat, reportProgress, completeTask and failTask; nothing changes', async () => {
    const id = await aliceRunning();
    const queued = await create(KEYS.aliceClient, 'alice.job');
    const before = await read(id);
    const writes = {
      claimTask: `mutation { claimTask(workerId: "wa", leaseSeconds: 600) { id } }`,
      heartbeat: `mutation($id: ID!) { heartbeat(id: $id, workerId: "wa", leaseSeconds: 600) { id } }`,
      reportProgress: `mutation($id: ID!) { reportProgress(id: $id, progress: 50, workerId: "wa") { id } }`,
      reportProgressWithoutWorker: `mutation($id: ID!) { reportProgress(id: $id, progress: 50) { id } }`,
      completeTask: `mutation($id: ID!) { completeTask(id: $id, result: "forged", workerId: "wa") { id } }`,
      completeTaskWithoutWorker: `mutation($id: ID!) { completeTask(id: $id, result: "forged") { id } }`,
      failTask: `mutation($id: ID!) { failTask(id: $id, message: "forged", workerId: "wa") { id } }`,
      failTaskWithoutWorker: `mutation($id: ID!) { failTask(id: $id, message: "forged", retry: true) { id } }`,
    };
    const codes: Record<string, unknown> = {};
    for (const [name, query] of Object.entries(writes)) {
      const result = await t.gql(query, name === 'claimTask' ? {} : { id }, as(KEYS.aliceClient));
      codes[name] = [code(result), result.data?.[name.replace(/WithoutWorker$/, '')] ?? null];
    }
    expect(codes).toEqual(Object.fromEntries(Object.keys(writes).map((name) => [name, ['FORBIDDEN', null]])));
    expect(await read(id)).toEqual(before);
    expect(await read(queued.id)).toMatchObject({ status: 'QUEUED', revision: 1 });
    // The same writes with the worker key go through: the refusals were about the role.
    const heartbeat = await t.gql(writes.heartbeat, { id }, as(KEYS.aliceWorker));
    expect(heartbeat.errors).toBeUndefined();
  });
});

describe('tenants', () => {
  it("failTask on another tenant's task answers exactly as for an unknown id, and changes nothing", async () => {
    const id = await aliceRunning();
    const before = await read(id);
    const unknown = 'no-such-task-0123456789ab';
    const fail = `mutation($id: ID!, $worker: String, $retry: Boolean) { failTask(id: $id, message: "not yours", workerId: $worker, retry: $retry) { id status } }`;
    for (const variables of [{}, { worker: 'wa' }, { worker: 'wa', retry: true }]) {
      for (const key of [KEYS.bobWorker, KEYS.bobClient]) {
        const foreign = refusal(await t.gql(fail, { id, ...variables }, as(key)), id);
        const missing = refusal(await t.gql(fail, { id: unknown, ...variables }, as(key)), unknown);
        expect(foreign).toEqual(missing);
      }
      expect(code(await t.gql(fail, { id, ...variables }, as(KEYS.bobWorker)))).toBe('NOT_FOUND');
    }
    expect(await read(id)).toEqual(before);
  });

  it("an SSE subscription to another tenant's task is NOT_FOUND like an unknown id, and carries none of its changes", async () => {
    const id = await aliceRunning();
    const SUBSCRIBE = `subscription($id: ID!) { taskUpdated(id: $id) { id status progress revision } }`;
    const mine = openSse(t.url, SUBSCRIBE, { id }, as(KEYS.aliceClient));
    await expect.poll(() => mine.events.length).toBe(1);

    const foreign = openSse(t.url, SUBSCRIBE, { id }, as(KEYS.bobClient));
    const unknown = openSse(t.url, SUBSCRIBE, { id: 'no-such-task-0123456789ab' }, as(KEYS.bobClient));
    await Promise.all([foreign.done, unknown.done]);
    // Everything but the id each echoes back is the same.
    const shape = (events: { event: string; data: any }[], asked: string) => JSON.parse(JSON.stringify(events).replaceAll(asked, '<id>'));
    expect(shape(foreign.events, id)).toEqual(shape(unknown.events, 'no-such-task-0123456789ab'));
    expect(foreign.events.map(({ event, data }) => [event, data?.errors?.map((error: any) => error.extensions?.code), data?.data])).toEqual([
      ['next', ['NOT_FOUND'], undefined],
      ['complete', undefined, undefined],
    ]);

    // Alice's own stream goes on; bob's ended before the change.
    await t.gql(`mutation($id: ID!) { reportProgress(id: $id, progress: 40, workerId: "wa") { id } }`, { id }, as(KEYS.aliceWorker));
    await t.gql(`mutation($id: ID!) { completeTask(id: $id, workerId: "wa") { id } }`, { id }, as(KEYS.aliceWorker));
    await mine.done;
    expect(mine.events.map((event) => event.data?.data?.taskUpdated?.revision ?? event.event)).toEqual([2, 3, 4, 'complete']);
    expect(foreign.events).toHaveLength(2);
  });

  it("reusing another tenant's idempotencyKey creates a separate task, and neither returns nor reveals the first", async () => {
    const first = await create(KEYS.aliceClient, 'alice.report', { key: 'order-42', input: { secret: 'alice-only' } });
    const second = await create(KEYS.bobClient, 'bob.export', { key: 'order-42', input: { mine: 'bob' } });
    expect(second.id).not.toBe(first.id);
    expect(second).toEqual({ id: second.id, kind: 'bob.export', input: { mine: 'bob' } });
    // Again with the key: each tenant gets its own task back.
    expect((await create(KEYS.bobWorker, 'other', { key: 'order-42' })).id).toBe(second.id);
    expect((await create(KEYS.aliceWorker, 'other', { key: 'order-42' })).id).toBe(first.id);

    const listOf = async (key: string) => (await t.gql(LIST, {}, as(key))).data.tasks.edges.map((edge: any) => edge.node.id);
    expect(await listOf(KEYS.bobClient)).toEqual([second.id]);
    expect(await listOf(KEYS.aliceClient)).toEqual([first.id]);
    expect(await read(first.id, KEYS.bobClient)).toBeNull();
    expect(await read(first.id)).toMatchObject({ id: first.id, status: 'QUEUED', revision: 1 });
  });

  it('an admin key lists every tenant’s tasks (newest first, filtered, paged); other keys list their own', async () => {
    const a1 = await create(KEYS.aliceClient, 'report');
    const b1 = await create(KEYS.bobClient, 'report');
    const a2 = await create(KEYS.aliceWorker, 'import');
    const o1 = await create(KEYS.admin, 'report');
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: b1.id }, as(KEYS.bobClient));
    const ids = async (key: string, variables: Record<string, unknown> = {}) => {
      const result = await t.gql(LIST, variables, as(key));
      expect(result.errors).toBeUndefined();
      return result.data.tasks;
    };
    const nodes = (page: any) => page.edges.map((edge: any) => edge.node.id);

    expect(nodes(await ids(KEYS.admin))).toEqual([o1.id, a2.id, b1.id, a1.id]);
    expect(nodes(await ids(KEYS.admin, { kind: 'report' }))).toEqual([o1.id, b1.id, a1.id]);
    expect(nodes(await ids(KEYS.admin, { status: 'CANCELLED' }))).toEqual([b1.id]);
    const page1 = await ids(KEYS.admin, { first: 3 });
    expect([nodes(page1), page1.pageInfo.hasNextPage]).toEqual([[o1.id, a2.id, b1.id], true]);
    const page2 = await ids(KEYS.admin, { first: 3, after: page1.pageInfo.endCursor });
    expect([nodes(page2), page2.pageInfo.hasNextPage]).toEqual([[a1.id], false]);

    expect(nodes(await ids(KEYS.aliceClient))).toEqual([a2.id, a1.id]);
    expect(nodes(await ids(KEYS.bobWorker))).toEqual([b1.id]);
  });
});
