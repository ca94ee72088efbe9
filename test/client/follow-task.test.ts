import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { followTask, TaskNotFoundError, type FollowEvent, type TaskState, type Transport } from '../../src/client/follow-task.js';
import { gqlRequest } from '../helpers/graphql.js';
import { completeTask, runningTask as createRunningTask, reportProgress } from '../helpers/tasks.js';
import { useServers } from '../helpers/servers.js';

const servers = useServers();

const gql = async (url: string, query: string, variables: Record<string, unknown> = {}) => (await gqlRequest(url, query, variables)).data;

const runningTask = (url: string) => createRunningTask(url, { kind: 'follow', workerId: 'w', leaseSeconds: 600 });
const progress = async (url: string, id: string, p: number) => (await reportProgress(url, id, p)).data;
const complete = async (url: string, id: string) => (await completeTask(url, id, 'done')).data;

/** Follows a task in the background, recording every state and the transports used. */
function follow(url: string, id: string, extra: { transports?: Transport[]; wsUrl?: string; signal?: AbortSignal } = {}) {
  const states: TaskState[] = [];
  const transports: Transport[] = [];
  const finished = (async () => {
    for await (const state of followTask({
      url: `${url}/graphql`,
      id,
      webSocketImpl: WebSocket,
      retryDelayMs: 100,
      maxFailedRounds: 300,
      onTransport: (transport) => transports.push(transport),
      ...extra,
    })) {
      states.push(state);
    }
  })();
  return { states, transports, finished };
}

/** Follows a task and its output in the background, recording every event. */
function followOutput(url: string, id: string, extra: { transports?: Transport[]; wsUrl?: string } = {}) {
  const events: FollowEvent[] = [];
  const finished = (async () => {
    for await (const event of followTask({ url: `${url}/graphql`, id, output: true, webSocketImpl: WebSocket, retryDelayMs: 100, maxFailedRounds: 300, ...extra })) {
      events.push(event);
    }
  })();
  const lines = () => events.flatMap((event) => (event.type === 'output' ? [`${event.chunk.seq}:${event.chunk.data}`] : []));
  return { events, finished, lines };
}

const append = async (url: string, id: string, data: string) =>
  (await gql(url, 'mutation($id: ID!, $data: String!) { appendTaskOutput(id: $id, data: $data, workerId: "w") }', { id, data }))!.appendTaskOutput as number;

/** Drives a task through progress steps, each after the follower saw the previous state. */
async function drive(url: string, id: string, follower: { states: TaskState[] }, steps: number[]) {
  for (const p of steps) {
    const seen = follower.states.length;
    await progress(url, id, p);
    await expect.poll(() => follower.states.length, { timeout: 10_000 }).toBe(seen + 1);
  }
  await complete(url, id);
}

describe('followTask', () => {
  it('follows over graphql-ws to the final state', async () => {
    const t = await servers.app();
    const id = await runningTask(t.url);
    const follower = follow(t.url, id);
    await expect.poll(() => follower.states.length).toBe(1);
    await drive(t.url, id, follower, [25, 50]);
    await follower.finished;
    expect(follower.states.map((s) => [s.revision, s.status, s.progress])).toEqual([
      [2, 'RUNNING', 0],
      [3, 'RUNNING', 25],
      [4, 'RUNNING', 50],
      [5, 'COMPLETED', 100],
    ]);
    expect(follower.transports).toEqual(['ws']);
  });

  it('falls back to SSE when the WebSocket cannot connect, and to long-polling without either', async () => {
    const t = await servers.app();
    for (const [options, expected] of [
      [{ wsUrl: 'ws://127.0.0.1:9/graphql' }, 'sse'],
      [{ transports: ['poll'] as Transport[] }, 'poll'],
    ] as const) {
      const id = await runningTask(t.url);
      const follower = follow(t.url, id, options);
      await expect.poll(() => follower.states.length).toBe(1);
      await drive(t.url, id, follower, [40]);
      await follower.finished;
      expect(follower.states.map((s) => s.revision)).toEqual([2, 3, 4]);
      expect(follower.transports).toEqual([expected]);
    }
  });

  it('throws TaskNotFoundError for an unknown id', async () => {
    const t = await servers.app();
    const iterator = followTask({ url: `${t.url}/graphql`, id: 'missing', webSocketImpl: WebSocket });
    await expect(iterator.next()).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('an AbortSignal ends it and leaves nothing held on the server', async () => {
    const t = await servers.app();
    const id = await runningTask(t.url);
    const abort = new AbortController();
    const follower = follow(t.url, id, { signal: abort.signal });
    // The first state received, not only the stream registered: under load the abort could
    // otherwise come between the two, before any state.
    await expect.poll(() => follower.states.length).toBe(1);
    expect(t.app.tasks.stats().subscriptions).toBe(1);
    abort.abort();
    await follower.finished;
    expect(follower.states).toHaveLength(1);
  });

  it('with output: true, yields the states and every output chunk once, in order, over each transport', async () => {
    const t = await servers.app();
    for (const options of [{}, { wsUrl: 'ws://127.0.0.1:9/graphql' }, { transports: ['poll'] as Transport[] }]) {
      const id = await runningTask(t.url);
      await append(t.url, id, 'first');
      const follower = followOutput(t.url, id, options);
      await expect.poll(() => follower.lines()).toEqual(['1:first']);
      await append(t.url, id, 'second');
      await expect.poll(() => follower.lines()).toEqual(['1:first', '2:second']);
      await append(t.url, id, 'third');
      await complete(t.url, id);
      await follower.finished;
      expect(follower.lines()).toEqual(['1:first', '2:second', '3:third']);
      expect(follower.events.filter((event) => event.type === 'task').at(-1)).toMatchObject({ task: { status: 'COMPLETED' } });
    }
  });

  it('with output: true, resumes the output across a server restart after the last seq, with no gap and no duplicate', async () => {
    const restartable = await servers.restartable();
    let server = await restartable.start();
    const id = await runningTask(server.url);
    const follower = followOutput(server.url, id);
    await append(server.url, id, 'a');
    await append(server.url, id, 'b');
    await expect.poll(() => follower.lines()).toEqual(['1:a', '2:b']);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    server = await restartable.start();
    await append(server.url, id, 'c');
    await append(server.url, id, 'd');
    await expect.poll(() => follower.lines(), { timeout: 10_000 }).toEqual(['1:a', '2:b', '3:c', '4:d']);
    await append(server.url, id, 'e');
    await complete(server.url, id);
    await follower.finished;
    expect(follower.lines()).toEqual(['1:a', '2:b', '3:c', '4:d', '5:e']);
  }, 30_000);

  it('resumes across a server restart with no gap and no duplicate', async () => {
    const restartable = await servers.restartable();
    let server = await restartable.start();
    const id = await runningTask(server.url);
    const follower = follow(server.url, id);
    await expect.poll(() => follower.states.length).toBe(1);
    await progress(server.url, id, 10);
    await expect.poll(() => follower.states.length).toBe(2);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    server = await restartable.start();
    await progress(server.url, id, 60);
    await progress(server.url, id, 70);
    await expect.poll(() => follower.states.at(-1)?.revision, { timeout: 10_000 }).toBe(5);
    await complete(server.url, id);
    await follower.finished;
    // While the server was down two changes were made; the resumed stream starts after the
    // last revision seen, so it may conflate them, but it repeats and skips nothing it held.
    const revisions = follower.states.map((s) => s.revision);
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(revisions.slice(0, 2)).toEqual([2, 3]);
    expect(revisions.at(-2)).toBe(5);
    expect(follower.states.at(-1)).toMatchObject({ status: 'COMPLETED', revision: 6 });
  }, 30_000);
});
