import WebSocket from 'ws';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { followTask, followTasks, type TaskChange, type TaskState } from '../src/client/follow-task.js';
import { startBalancer } from './helpers/balancer.js';
import { collect, wsClient } from './helpers/clients.js';
import { codes, gqlRequest, metric } from './helpers/graphql.js';
import { describeWithPostgres, freshDatabase } from './helpers/postgres.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';

const gql = (url: string, query: string, variables: Record<string, unknown> = {}) => gqlRequest(url, query, variables);

/** The instance's `task_api_waiters` gauge: long-polls it holds now. */
const heldWaiters = (url: string) => metric(url, 'task_api_waiters');
const FIELDS = 'id kind status progress result revision';

describeWithPostgres('three instances on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let servers: ServerProcess[] = [];

  beforeEach(async () => {
    database = await freshDatabase();
    // Started together: their migrations race, and the advisory lock lets one run them.
    servers = await Promise.all([0, 1, 2].map(() => startServerProcess({ DATABASE_URL: database.url, EVENT_RESYNC_MS: '1000' })));
  }, 60_000);

  afterEach(async () => {
    for (const server of servers) server.child.kill('SIGKILL');
    await Promise.all(servers.map((server) => server.exited));
    servers = [];
    await database.drop();
  });

  it('the contract holds on every instance, with each write read back through another', async () => {
    for (const [i, writer] of servers.entries()) {
      const reader = servers[(i + 1) % servers.length]!.url;
      const kind = `multi.${i}`;
      const create = `mutation($kind: String!) { createTask(kind: $kind, input: {n: ${i}}, idempotencyKey: "key-${i}") { ${FIELDS} } }`;
      const created = (await gql(writer.url, create, { kind })).data!.createTask;
      expect(created).toMatchObject({ kind, status: 'QUEUED', revision: 1 });
      expect((await gql(reader, create, { kind })).data!.createTask.id).toBe(created.id);
      expect((await gql(reader, `query($id: ID!) { task(id: $id) { ${FIELDS} } }`, { id: created.id })).data!.task).toEqual(created);

      const claimed = (await gql(reader, `mutation($kinds: [String!]) { claimTask(kinds: $kinds, workerId: "w${i}", leaseSeconds: 60) { ${FIELDS} } }`, { kinds: [kind] })).data!.claimTask;
      expect(claimed).toMatchObject({ id: created.id, status: 'RUNNING', revision: 2 });
      const progress = `mutation($id: ID!, $worker: String) { reportProgress(id: $id, progress: 50, workerId: $worker) { ${FIELDS} } }`;
      expect(codes(await gql(writer.url, progress, { id: created.id, worker: 'intruder' }))).toEqual(['LEASE_MISMATCH']);

      const waiting = gql(reader, `query($id: ID!) { awaitTask(id: $id, timeout: 20, afterRevision: 2) { ${FIELDS} } }`, { id: created.id });
      await expect.poll(() => heldWaiters(reader)).toBe(1);
      await gql(writer.url, progress, { id: created.id, worker: `w${i}` });
      expect((await waiting).data!.awaitTask).toMatchObject({ progress: 50, revision: 3 });

      const complete = `mutation($id: ID!) { completeTask(id: $id, result: "done ${i}") { ${FIELDS} } }`;
      const done = (await gql(writer.url, complete, { id: created.id })).data!.completeTask;
      expect(done).toMatchObject({ status: 'COMPLETED', progress: 100, revision: 4 });
      expect(codes(await gql(reader, complete, { id: created.id }))).toEqual(['INVALID_TRANSITION']);
      expect((await gql(reader, `mutation($id: ID!) { cancelTask(id: $id) { ${FIELDS} } }`, { id: created.id })).data!.cancelTask).toEqual(done);
      expect(codes(await gql(reader, `mutation { cancelTask(id: "nope") { id } }`))).toEqual(['NOT_FOUND']);

      const rest = (await (await fetch(`${reader}/api/queue/poll/${created.id}`)).json()) as Record<string, unknown>;
      expect(rest).toMatchObject({ task_id: created.id, status: 'completed', result: `done ${i}`, revision: 4 });
      const listed = (await gql(reader, `query($kind: String) { tasks(kind: $kind, first: 5) { edges { node { id } } } }`, { kind })).data!.tasks;
      expect(listed.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([created.id]);
    }
  });

  it('writes on one instance reach long-polls, REST waits and subscriptions held on the others', async () => {
    const [writer, second, third] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const id = (await gql(writer.url, 'mutation { createTask(kind: "spread") { id } }')).data!.createTask.id as string;
    await gql(writer.url, 'mutation { claimTask(workerId: "w", leaseSeconds: 60) { id } }');

    const longPoll = gql(second.url, `query($id: ID!) { awaitTask(id: $id, timeout: 20) { ${FIELDS} } }`, { id });
    const restWait = fetch(`${third.url}/api/queue/poll/${id}/wait?timeout=20`).then((response) => response.json());
    await expect.poll(async () => [await heldWaiters(second.url), await heldWaiters(third.url)]).toEqual([1, 1]);
    const clients = [wsClient(second.wsUrl), wsClient(third.wsUrl)];
    const streams = clients.map((client) => collect(client, `subscription($id: ID!) { taskUpdated(id: $id) { ${FIELDS} } }`, { id }));
    await expect.poll(() => streams.every((stream) => stream.results.length > 0)).toBe(true);

    for (let progress = 10; progress <= 90; progress += 20) {
      await gql(writer.url, `mutation($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p) { id } }`, { id, p: progress });
    }
    await gql(writer.url, 'mutation($id: ID!) { completeTask(id: $id, result: "spread") { id } }', { id });

    expect((await longPoll).data!.awaitTask).toMatchObject({ status: 'COMPLETED', result: 'spread', revision: 8 });
    expect(await restWait).toMatchObject({ task_id: id, status: 'completed', revision: 8 });
    for (const stream of streams) {
      const states = (await stream.finished).map((payload) => payload.data.taskUpdated);
      const revisions = states.map((state: { revision: number }) => state.revision);
      expect(revisions[0]).toBe(2);
      expect(states.at(-1)).toMatchObject({ status: 'COMPLETED', revision: 8 });
      expect(new Set(revisions).size).toBe(revisions.length);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    }
    await Promise.all(clients.map((client) => client.dispose()));
  });

  it('an instance killed mid-load loses no acknowledged write, and its clients carry on through another', async () => {
    const balancer = await startBalancer(servers.map((server) => server.url));
    const victim = servers[0]!;
    const survivor = servers[1]!.url;
    try {
      // Tasks a worker drives through the balancer, and followers of each, through the balancer too:
      // it hands connections out in turn, so two of the six followers start on the victim.
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await gql(survivor, 'mutation { createTask(kind: "crash") { id } }')).data!.createTask.id);
      for (const _ of ids) await gql(survivor, 'mutation { claimTask(kinds: ["crash"], workerId: "w", leaseSeconds: 600) { id } }');
      const followers = ids.map((id) => {
        const states: TaskState[] = [];
        const finished = (async () => {
          for await (const state of followTask({ url: `${balancer.url}/graphql`, id, webSocketImpl: WebSocket, retryDelayMs: 100, pollTimeoutSeconds: 5 })) {
            states.push(state);
          }
        })();
        return { states, finished };
      });

      // Writers straight at the victim: every write it acknowledged must survive it.
      const acknowledged: { id: string; revision: number }[] = [];
      let stop = false;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let n = 0; !stop; n++) {
          try {
            const answer = await gql(victim.url, 'mutation($kind: String!) { createTask(kind: $kind) { id revision } }', { kind: `load.${w}` });
            if (answer.data?.createTask) acknowledged.push(answer.data.createTask);
          } catch {
            return; // the victim is gone
          }
        }
      });

      let progress = 0;
      const drive = async (until: number) => {
        for (; progress < until; progress += 10) {
          for (const id of ids) {
            const answer = await gql(balancer.url, 'mutation($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p) { id } }', { id, p: progress }).catch(() => null);
            if (!answer?.data?.reportProgress) await gql(survivor, 'mutation($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p) { id } }', { id, p: progress });
          }
        }
      };
      await drive(40);
      await expect.poll(() => acknowledged.length, { timeout: 10_000 }).toBeGreaterThan(50);
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await drive(100);
      for (const id of ids) await gql(survivor, 'mutation($id: ID!) { completeTask(id: $id, result: "survived") { id } }', { id });

      await Promise.all(followers.map((follower) => follower.finished));
      for (const { states } of followers) {
        const revisions = states.map((state) => state.revision);
        expect(new Set(revisions).size).toBe(revisions.length);
        expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
        expect(states.at(-1)).toMatchObject({ status: 'COMPLETED', result: 'survived' });
      }

      const lost: string[] = [];
      for (const { id, revision } of acknowledged) {
        const stored = (await gql(survivor, 'query($id: ID!) { task(id: $id) { revision } }', { id })).data!.task;
        if (!stored || stored.revision < revision) lost.push(id);
      }
      expect(lost).toEqual([]);
      console.log(`killed an instance after ${acknowledged.length} acknowledged creates: lost 0; ${followers.length} followers finished through the balancer`);
    } finally {
      await balancer.close();
    }
  }, 60_000);

  it('a change-feed follower whose instance is killed carries on through another: every change, in order, once', async () => {
    const [victim, ...others] = servers as [ServerProcess, ServerProcess, ServerProcess];
    // The balancer hands its first connection to the victim: the follower's WebSocket.
    const balancer = await startBalancer(servers.map((server) => server.url));
    const abort = new AbortController();
    let following: Promise<void> | undefined;
    try {
      const start = (await gql(others[0]!.url, '{ tasks(first: 1) { changesCursor } }')).data!.tasks.changesCursor as string;
      const changes: TaskChange[] = [];
      following = (async () => {
        const feed = followTasks({ url: `${balancer.url}/graphql`, after: start, webSocketImpl: WebSocket, retryDelayMs: 100, pollTimeoutSeconds: 5, signal: abort.signal });
        for await (const change of feed) changes.push(change);
      })();
      await expect.poll(() => metric(victim.url, 'task_api_subscriptions')).toBe(1);

      // Writers on both survivors, concurrently, before, during and after the kill; then a claim
      // of one task per writer, so the feed holds changes of tasks it already delivered once.
      const perWriter = 60;
      let killed = false;
      const writers = others.map(async (server, w) => {
        for (let n = 0; n < perWriter; n++) {
          await gql(server.url, 'mutation($kind: String!) { createTask(kind: $kind) { id } }', { kind: `feed.${w}` });
          if (n === perWriter / 3 && !killed) {
            killed = true;
            victim.child.kill('SIGKILL');
          }
        }
        await gql(server.url, 'mutation($kinds: [String!]) { claimTask(kinds: $kinds, workerId: "w", leaseSeconds: 600) { id } }', { kinds: [`feed.${w}`] });
      });
      await Promise.all(writers);
      expect((await victim.exited).signal).toBe('SIGKILL');

      // The feed from the same start, read afresh from a survivor: the follower ends with exactly these, in this order.
      const expected: string[] = [];
      for (let after: string = start; ; ) {
        const page = (await gql(others[1]!.url, 'query($after: String) { taskChanges(after: $after, first: 100) { cursor changes { cursor } } }', { after })).data!.taskChanges;
        if (page.changes.length === 0) break;
        expected.push(...page.changes.map((change: { cursor: string }) => change.cursor));
        after = page.cursor;
      }
      expect(expected.length).toBeGreaterThanOrEqual(2 * perWriter);
      await expect.poll(() => changes.at(-1)?.cursor, { timeout: 20_000 }).toBe(expected.at(-1));
      const ids = changes.map((change) => `${change.task.id}@${change.task.revision}`);
      expect(new Set(ids).size).toBe(ids.length);
      // A task created then claimed while the follower was away comes once, at its latest state: drop
      // the creations it superseded from the follower's list and it is the fresh read, in order.
      const latest = changes.filter((change, i) => !changes.slice(i + 1).some((later) => later.task.id === change.task.id));
      expect(latest.map((change) => change.cursor)).toEqual(expected);
      expect(changes.filter((change) => change.task.status === 'RUNNING')).toHaveLength(2);
    } finally {
      abort.abort();
      await following;
      await balancer.close();
    }
  }, 60_000);
});
