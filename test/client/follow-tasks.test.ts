import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedRefusedError, followTasks, type FollowTasksOptions, type TaskChange, type Transport } from '../../src/client/follow-task.js';
import { startBalancer } from '../helpers/balancer.js';
import { gqlRequest } from '../helpers/graphql.js';
import { useServers } from '../helpers/servers.js';

const servers = useServers();
const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

const create = async (url: string, kind = 'feed', tags: string[] = []) =>
  ((await gqlRequest(url, 'mutation($kind: String!, $tags: [String!]) { createTask(kind: $kind, tags: $tags) { id } }', { kind, tags })).data!.createTask as { id: string }).id;
const claim = async (url: string, kind: string) =>
  ((await gqlRequest(url, 'mutation($kind: String!) { claimTask(kinds: [$kind], workerId: "w", leaseSeconds: 600) { id } }', { kind })).data!.claimTask as { id: string }).id;

/** Follows the feed in the background, recording every change and the transports used; stopped after the test. */
function follow(url: string, options: Partial<FollowTasksOptions> = {}) {
  const changes: TaskChange[] = [];
  const transports: Transport[] = [];
  const abort = new AbortController();
  const finished = (async () => {
    for await (const change of followTasks({
      url: `${url}/graphql`,
      webSocketImpl: WebSocket,
      retryDelayMs: 100,
      maxFailedRounds: 300,
      pollTimeoutSeconds: 5,
      signal: abort.signal,
      onTransport: (transport) => transports.push(transport),
      ...options,
    })) {
      changes.push(change);
    }
  })();
  stops.push(() => {
    abort.abort();
    return finished;
  });
  const seen = () => changes.map((change) => `${change.task.id}@${change.task.revision}`);
  return { changes, transports, finished, seen, abort };
}

/** Every cursor once, and the changes in the feed's order (the order a fresh read from the beginning gives). */
async function expectFeedOrder(url: string, changes: TaskChange[]) {
  expect(new Set(changes.map((change) => change.cursor)).size).toBe(changes.length);
  const page = (await gqlRequest(url, '{ taskChanges(first: 100) { changes { cursor } } }')).data!.taskChanges as { changes: { cursor: string }[] };
  const order = page.changes.map((change) => change.cursor);
  const positions = changes.map((change) => order.indexOf(change.cursor)).filter((index) => index >= 0);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
}

describe('followTasks', () => {
  it('yields the backlog, then each change as it commits, over each transport', async () => {
    const t = await servers.app();
    for (const [options, expected] of [
      [{}, 'ws'],
      [{ wsUrl: 'ws://127.0.0.1:9/graphql' }, 'sse'],
      [{ transports: ['poll'] as Transport[] }, 'poll'],
    ] as const) {
      const start = ((await t.gql('{ tasks(first: 1) { changesCursor } }')).data!.tasks as { changesCursor: string }).changesCursor;
      const a = await create(t.url, expected);
      const b = await create(t.url);
      const follower = follow(t.url, { after: start, ...options });
      await expect.poll(() => follower.seen()).toEqual([`${a}@1`, `${b}@1`]);
      const c = await create(t.url);
      await expect.poll(() => follower.seen()).toEqual([`${a}@1`, `${b}@1`, `${c}@1`]);
      expect(await claim(t.url, expected)).toBe(a);
      await expect.poll(() => follower.seen()).toEqual([`${a}@1`, `${b}@1`, `${c}@1`, `${a}@2`]);
      expect(follower.changes.at(-1)!.task).toMatchObject({ id: a, status: 'RUNNING' });
      expect(follower.transports).toEqual([expected]);
      follower.abort.abort();
      await follower.finished;
    }
  });

  it('without after, starts from the beginning of the feed; a filter keeps only what it admits', async () => {
    const t = await servers.app();
    const first = await create(t.url, 'a');
    await create(t.url, 'b');
    const tagged = await create(t.url, 'b', ['blue']);
    const all = follow(t.url);
    const blue = follow(t.url, { filter: { tags: ['blue'] } });
    const queuedA = follow(t.url, { filter: { kinds: ['a'], statuses: ['QUEUED'] } });
    await expect.poll(() => all.changes.length).toBe(3);
    await expect.poll(() => blue.seen()).toEqual([`${tagged}@1`]);
    await expect.poll(() => queuedA.seen()).toEqual([`${first}@1`]);
    const later = await create(t.url, 'a', ['blue']);
    await expect.poll(() => blue.seen()).toEqual([`${tagged}@1`, `${later}@1`]);
    await expect.poll(() => queuedA.seen()).toEqual([`${first}@1`, `${later}@1`]);
    await expect.poll(() => all.changes.length).toBe(4);
    expect(all.changes[0]!.task.id).toBe(first);
    await expectFeedOrder(t.url, all.changes);
  });

  it('resumes after a dropped connection from the last cursor it yielded: no gap, no duplicate', async () => {
    const t = await servers.app();
    const balancer = await startBalancer([t.url]);
    stops.push(() => balancer.close());
    for (const options of [{}, { wsUrl: 'ws://127.0.0.1:9/graphql' }, { transports: ['poll'] as Transport[] }]) {
      const start = ((await t.gql('{ tasks(first: 1) { changesCursor } }')).data!.tasks as { changesCursor: string }).changesCursor;
      const follower = follow(balancer.url, { after: start, ...options });
      const ids = [await create(t.url)];
      await expect.poll(() => follower.changes.length).toBe(1);
      balancer.drop();
      // Committed while the follower is cut off or reconnecting.
      ids.push(await create(t.url), await create(t.url));
      await expect.poll(() => follower.changes.length, { timeout: 10_000 }).toBe(3);
      ids.push(await create(t.url));
      await expect.poll(() => follower.changes.length, { timeout: 10_000 }).toBe(4);
      expect(follower.changes.map((change) => change.task.id)).toEqual(ids);
      follower.abort.abort();
      await follower.finished;
    }
  }, 60_000);

  it('resumes across a server restart, with what was committed just before and after it', async () => {
    const restartable = await servers.restartable();
    let server = await restartable.start();
    const ids = [await create(server.url)];
    const follower = follow(server.url);
    await expect.poll(() => follower.changes.length).toBe(1);
    ids.push(await create(server.url));
    await expect.poll(() => follower.changes.length).toBe(2);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    server = await restartable.start();
    ids.push(await create(server.url), await create(server.url));
    await expect.poll(() => follower.changes.length, { timeout: 10_000 }).toBe(4);
    expect(follower.changes.map((change) => change.task.id)).toEqual(ids);
    expect(follower.transports[0]).toBe('ws');
    await expectFeedOrder(server.url, follower.changes);
  }, 30_000);

  it('an AbortSignal ends it and leaves nothing held on the server', async () => {
    const t = await servers.app();
    for (const options of [{}, { transports: ['poll'] as Transport[] }]) {
      const follower = follow(t.url, options);
      await expect.poll(() => t.app.tasks.stats().subscriptions + t.app.tasks.stats().waiters).toBe(1);
      follower.abort.abort();
      await follower.finished;
      await expect.poll(() => t.app.tasks.stats().subscriptions + t.app.tasks.stats().waiters).toBe(0);
    }
  });

  it('throws FeedRefusedError for a cursor the server refuses, over each transport', async () => {
    const t = await servers.app();
    for (const options of [{}, { wsUrl: 'ws://127.0.0.1:9/graphql' }, { transports: ['poll'] as Transport[] }]) {
      const changes = followTasks({ url: `${t.url}/graphql`, webSocketImpl: WebSocket, after: 'not-a-cursor', retryDelayMs: 100, ...options });
      await expect(changes.next()).rejects.toSatisfy((error) => error instanceof FeedRefusedError && error.code === 'BAD_USER_INPUT');
    }
  });
});
