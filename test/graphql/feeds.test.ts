/**
 * Change feeds over the transports, as clients use them: the taskChanges and awaitTaskChanges
 * queries over HTTP, the taskChanges subscription over graphql-ws and SSE, and
 * tasks(…).changesCursor, with keys of two tenants.
 */
import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { ackedSocket, openSse, wsClient } from '../helpers/clients.js';
import { bearer, codes, metric } from '../helpers/graphql.js';
import { API_KEYS, KEYS } from '../helpers/keys.js';

const t = useApp({ API_KEYS });
const alice = bearer(KEYS.aliceWorker);
const bob = bearer(KEYS.bobWorker);
const admin = bearer(KEYS.admin);

const PAGE = 'query($after: String, $first: Int, $filter: TaskFilter) { taskChanges(after: $after, first: $first, filter: $filter) { cursor changes { cursor task { id status tags } } } }';
const AWAIT = 'query($after: String!, $timeout: Float) { awaitTaskChanges(after: $after, timeout: $timeout) { cursor changes { cursor task { id status } } } }';
const FOLLOW = 'subscription($after: String, $filter: TaskFilter) { taskChanges(after: $after, filter: $filter) { cursor task { id status } } }';

async function create(headers: Record<string, string>, kind = 'k', tags: string[] = []): Promise<string> {
  const created = await t.gql('mutation($kind: String!, $tags: [String!]) { createTask(kind: $kind, tags: $tags) { id } }', { kind, tags }, headers);
  return created.data!.createTask.id as string;
}

const cancel = (headers: Record<string, string>, id: string) => t.gql('mutation($id: ID!) { cancelTask(id: $id) { id } }', { id }, headers);

describe('change feeds over GraphQL', () => {
  it('taskChanges pages the caller\'s tenant\'s feed; other tenants\' tasks never appear; bad cursors are BAD_USER_INPUT', async () => {
    const one = await create(alice);
    const two = await create(alice, 'k', ['red']);
    await create(bob);
    await cancel(alice, one);
    const all = await t.gql(PAGE, {}, alice);
    expect(all.data!.taskChanges.changes.map((change: any) => [change.task.id, change.task.status])).toEqual([
      [two, 'QUEUED'],
      [one, 'CANCELLED'],
    ]);
    const first = await t.gql(PAGE, { first: 1 }, alice);
    const next = await t.gql(PAGE, { after: first.data!.taskChanges.cursor }, alice);
    expect(next.data!.taskChanges.changes.map((change: any) => change.task.id)).toEqual([one]);
    expect((await t.gql(PAGE, { filter: { tags: ['red'] } }, alice)).data!.taskChanges.changes.map((change: any) => change.task.id)).toEqual([two]);
    expect((await t.gql(PAGE, {}, bob)).data!.taskChanges.changes).toHaveLength(1);
    // The admin key's tenant (ops) has no tasks: it reads its own tenant's feed.
    expect((await t.gql(PAGE, {}, admin)).data!.taskChanges.changes).toEqual([]);

    expect(codes(await t.gql(PAGE, { after: first.data!.taskChanges.cursor }, bob))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(PAGE, { after: 'not-a-cursor' }, alice))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(PAGE, { first: 1001 }, alice))).toEqual(['BAD_USER_INPUT']);
    const listed = await t.gql('{ tasks(first: 1) { pageInfo { endCursor } } }', {}, alice);
    expect(codes(await t.gql(PAGE, { after: listed.data!.tasks.pageInfo.endCursor }, alice))).toEqual(['BAD_USER_INPUT']);
  });

  it('awaitTaskChanges holds (counted in task_api_waiters) until a change made by another request, and is released when the client leaves', async () => {
    const { cursor } = (await t.gql(PAGE, {}, alice)).data!.taskChanges;
    const held = t.gql(AWAIT, { after: cursor, timeout: 30 }, alice);
    await expect.poll(() => metric(t.url, 'task_api_waiters')).toBe(1);
    await create(bob);
    const id = await create(alice);
    const answer = await held;
    expect(answer.data!.awaitTaskChanges.changes.map((change: any) => change.task.id)).toEqual([id]);
    expect(t.app.tasks.stats().waiters).toBe(0);

    const abort = new AbortController();
    const left = t.gql(AWAIT, { after: answer.data!.awaitTaskChanges.cursor, timeout: 30 }, alice, { signal: abort.signal }).catch(() => 'aborted');
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    abort.abort();
    expect(await left).toBe('aborted');
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(0);

    const timedOut = await t.gql(AWAIT, { after: cursor, timeout: 0 }, bob).then((result) => codes(result));
    expect(timedOut).toEqual(['BAD_USER_INPUT']);
    const empty = await t.gql(AWAIT, { after: answer.data!.awaitTaskChanges.cursor, timeout: 0 }, alice);
    expect(empty.data!.awaitTaskChanges).toEqual({ cursor: answer.data!.awaitTaskChanges.cursor, changes: [] });
  });

  it('list, then subscribe over graphql-ws from changesCursor: the backlog, then each change live, counted in task_api_subscriptions', async () => {
    const before = await create(alice);
    const list = await t.gql('{ tasks(first: 10) { edges { node { id } } changesCursor } }', {}, alice);
    expect(list.data!.tasks.edges.map((edge: any) => edge.node.id)).toEqual([before]);
    const between = await create(alice);

    const client = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.aliceWorker}` });
    const seen: { cursor: string; task: { id: string; status: string } }[] = [];
    const stop = client.subscribe<{ taskChanges: (typeof seen)[number] }>(
      { query: FOLLOW, variables: { after: list.data!.tasks.changesCursor } },
      { next: ({ data }) => seen.push(data!.taskChanges), error: () => {}, complete: () => {} },
    );
    await expect.poll(() => seen.map((change) => change.task.id)).toEqual([between]);
    expect(await metric(t.url, 'task_api_subscriptions')).toBe(1);
    await create(bob);
    await cancel(alice, before);
    await expect.poll(() => seen.map((change) => `${change.task.id}@${change.task.status}`)).toEqual([`${between}@QUEUED`, `${before}@CANCELLED`]);
    expect(seen[0]!.cursor).not.toBe(seen[1]!.cursor);
    stop();
    await client.dispose();
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);

    // Resumed from the first change's cursor: the second again, nothing before it.
    const sse = openSse(t.url, FOLLOW, { after: seen[0]!.cursor }, alice);
    await expect.poll(() => sse.events.filter((event) => event.event === 'next').map((event) => event.data.data.taskChanges.task.id)).toEqual([before]);
    sse.abort();
    await sse.done;
  });

  it('a subscriber far behind does not hold the server: an operation it sends meanwhile is answered before its backlog ends', async () => {
    const start = (await t.gql('{ tasks(first: 1) { changesCursor } }', {}, alice)).data!.tasks.changesCursor as string;
    const writer = { tenant: 'alice', role: 'worker' } as const;
    for (let n = 0; n < 3_000; n += 500) {
      await Promise.all(Array.from({ length: 500 }, () => t.app.tasks.create(writer, { kind: 'far', maxAttempts: 1 })));
    }
    const raw = await ackedSocket(t.wsUrl, { authorization: alice.authorization });
    // As for task output (test/http/output.test.ts): the query's answer takes its place among
    // the backlog's frames, and storage (SQLite) answers each page at once.
    raw.socket.once('message', () => raw.send({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } }));
    raw.send({ id: 's', type: 'subscribe', payload: { query: FOLLOW, variables: { after: start } } });
    await expect.poll(() => raw.messages.filter((message) => message.id === 's').length, { timeout: 30_000 }).toBe(3_000);
    const answeredAt = raw.messages.findIndex((message) => message.id === 'q' && message.type === 'next');
    expect(answeredAt).toBeGreaterThan(0);
    expect(answeredAt).toBeLessThan(1_000);
    raw.socket.close();
  });

  it('a subscription with a foreign cursor is refused with BAD_USER_INPUT', async () => {
    await create(alice);
    const { cursor } = (await t.gql(PAGE, {}, alice)).data!.taskChanges;
    const client = wsClient(t.wsUrl, { authorization: `Bearer ${KEYS.bobWorker}` });
    const refused = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: FOLLOW, variables: { after: cursor } }, { next: resolve, error: resolve, complete: () => resolve('complete') });
    });
    expect(JSON.stringify(refused)).toMatch(/BAD_USER_INPUT/);
    await client.dispose();
  });
});
