import { describe, expect, it } from 'vitest';
import { TASK_FIELDS, useApp, useApps } from '../helpers/app.js';
import { codes } from '../helpers/graphql.js';

const t = useApp();
const apps = useApps();

const CREATE = `mutation($kind: String!, $input: JSON, $key: String, $max: Int) {
  createTask(kind: $kind, input: $input, idempotencyKey: $key, maxAttempts: $max) { ${TASK_FIELDS} }
}`;
const CLAIM = `mutation($kinds: [String!], $worker: String!) { claimTask(kinds: $kinds, workerId: $worker, leaseSeconds: 30) { ${TASK_FIELDS} } }`;
const PROGRESS = `mutation($id: ID!, $p: Int!, $m: String, $w: String) { reportProgress(id: $id, progress: $p, message: $m, workerId: $w) { ${TASK_FIELDS} } }`;
const COMPLETE = `mutation($id: ID!, $r: JSON, $w: String) { completeTask(id: $id, result: $r, workerId: $w) { ${TASK_FIELDS} } }`;
const TASK = `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;
const AWAIT = `query($id: ID!, $timeout: Float, $after: Int) { awaitTask(id: $id, timeout: $timeout, afterRevision: $after) { ${TASK_FIELDS} } }`;

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function created(kind = 'report.generate', extra: Record<string, unknown> = {}) {
  const { data, errors } = await t.gql(CREATE, { kind, input: { month: '2026-10' }, ...extra });
  expect(errors).toBeUndefined();
  return data.createTask;
}

describe('task lifecycle over GraphQL', () => {
  it('create → claim → progress → complete, with every field as the contract says', async () => {
    const task = await created();
    expect(task).toMatchObject({
      kind: 'report.generate',
      status: 'QUEUED',
      done: false,
      progress: 0,
      message: null,
      input: { month: '2026-10' },
      result: null,
      error: null,
      attempts: 0,
      maxAttempts: 3,
      revision: 1,
      startedAt: null,
      completedAt: null,
    });
    expect(task.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(task.createdAt).toMatch(ISO_MS);

    const claimed = (await t.gql(CLAIM, { kinds: ['report.generate'], worker: 'w1' })).data.claimTask;
    expect(claimed).toMatchObject({ id: task.id, status: 'RUNNING', attempts: 1, revision: 2 });
    expect(claimed.startedAt).toMatch(ISO_MS);

    const progressed = (await t.gql(PROGRESS, { id: task.id, p: 40, m: 'rendering', w: 'w1' })).data.reportProgress;
    expect(progressed).toMatchObject({ progress: 40, message: 'rendering', revision: 3 });

    const done = (await t.gql(COMPLETE, { id: task.id, r: { url: '/r.pdf' }, w: 'w1' })).data.completeTask;
    expect(done).toMatchObject({ status: 'COMPLETED', done: true, progress: 100, result: { url: '/r.pdf' }, revision: 4 });
    expect(done.completedAt).toMatch(ISO_MS);

    expect((await t.gql(TASK, { id: task.id })).data.task).toEqual(done);
  });

  it('heartbeat extends the lease without a revision bump', async () => {
    const task = await created();
    await t.gql(CLAIM, { worker: 'w1' });
    const { data } = await t.gql(`mutation($id: ID!) { heartbeat(id: $id, workerId: "w1", leaseSeconds: 120) { revision leaseExpiresAt } }`, {
      id: task.id,
    });
    expect(data.heartbeat.revision).toBe(2);
    expect(Date.parse(data.heartbeat.leaseExpiresAt) - Date.now()).toBeGreaterThan(100_000);
  });

  it('failTask with retry requeues, without retry ends FAILED with the error', async () => {
    const task = await created('x', { max: 2 });
    await t.gql(CLAIM, { worker: 'w1' });
    const FAIL = `mutation($id: ID!, $retry: Boolean) { failTask(id: $id, message: "disk full", code: "ENOSPC", retry: $retry, workerId: "w1") { ${TASK_FIELDS} } }`;
    const retried = (await t.gql(FAIL, { id: task.id, retry: true })).data.failTask;
    expect(retried).toMatchObject({ status: 'QUEUED', done: false, error: { message: 'disk full', code: 'ENOSPC' } });
    await t.gql(CLAIM, { worker: 'w1' });
    const failed = (await t.gql(FAIL, { id: task.id, retry: true })).data.failTask;
    expect(failed).toMatchObject({ status: 'FAILED', done: true, attempts: 2, error: { code: 'ENOSPC' } });
  });

  it('cancelTask ends a queued task and is idempotent on a final one', async () => {
    const task = await created();
    const CANCEL = `mutation($id: ID!) { cancelTask(id: $id, reason: "no longer needed") { ${TASK_FIELDS} } }`;
    const cancelled = (await t.gql(CANCEL, { id: task.id })).data.cancelTask;
    expect(cancelled).toMatchObject({ status: 'CANCELLED', done: true, error: { message: 'no longer needed', code: 'CANCELLED' }, revision: 2 });
    const again = await t.gql(CANCEL, { id: task.id });
    expect(again.errors).toBeUndefined();
    expect(again.data.cancelTask).toEqual(cancelled);
  });

  it('createTask with an idempotencyKey returns the same task twice', async () => {
    const first = await created('x', { key: 'order-42' });
    const second = await created('x', { key: 'order-42' });
    expect(second.id).toBe(first.id);
  });

  it('claimTask returns null when nothing is queued', async () => {
    expect((await t.gql(CLAIM, { worker: 'w1' })).data.claimTask).toBeNull();
  });
});

describe('tags over GraphQL', () => {
  it('createTask(tags:) keeps them without duplicates, Task.tags returns them, tasks(tag:) lists by one; a bad tag is BAD_USER_INPUT', async () => {
    const create = (tags: unknown) => t.gql(`mutation($tags: [String!]) { createTask(kind: "tagged", tags: $tags) { id tags } }`, { tags });
    const tagged = await create(['eu', 'team:ops', 'eu']);
    expect(tagged.data!.createTask.tags).toEqual(['eu', 'team:ops']);
    expect((await create(null)).data!.createTask.tags).toEqual([]);
    const refused = await create(['no spaces']);
    expect([refused.data, codes(refused)]).toEqual([null, ['BAD_USER_INPUT']]);
    const listed = await t.gql(`{ tasks(tag: "team:ops") { edges { node { id tags } } } }`);
    expect(listed.data!.tasks.edges).toEqual([{ node: { id: tagged.data!.createTask.id, tags: ['eu', 'team:ops'] } }]);
    expect(codes(await t.gql(`{ tasks(tag: "") { edges { node { id } } } }`))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('errors carry the contract codes and change nothing', () => {
  it('BAD_USER_INPUT, INVALID_TRANSITION, LEASE_MISMATCH, NOT_FOUND', async () => {
    const task = await created();
    expect(codes(await t.gql(PROGRESS, { id: task.id, p: 10 }))).toEqual(['INVALID_TRANSITION']);
    await t.gql(CLAIM, { worker: 'w1' });
    expect(codes(await t.gql(PROGRESS, { id: task.id, p: 101 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(PROGRESS, { id: task.id, p: 10, w: 'w2' }))).toEqual(['LEASE_MISMATCH']);
    expect(codes(await t.gql(COMPLETE, { id: 'no-such-task' }))).toEqual(['NOT_FOUND']);
    expect(codes(await t.gql(`mutation { claimTask(workerId: "w", leaseSeconds: -1) { id } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(CREATE, { kind: 'x', max: 0 }))).toEqual(['BAD_USER_INPUT']);
    expect((await t.gql(TASK, { id: task.id })).data.task).toMatchObject({ status: 'RUNNING', revision: 2, progress: 0 });
  });

  it('awaitTask timeouts: -1, 1e309, "abc" are BAD_USER_INPUT, and hold nothing', async () => {
    const task = await created();
    expect(codes(await t.gql(AWAIT, { id: task.id, timeout: -1 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(AWAIT, { id: task.id, timeout: 'abc' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await t.gql(`{ awaitTask(id: "${task.id}", timeout: 1e309) { id } }`))).toEqual(['BAD_USER_INPUT']);
    const raw = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"query":"query($t: Float) { awaitTask(id: \\"${task.id}\\", timeout: $t) { id } }","variables":{"t":1e309}}`,
    });
    expect(codes(await raw.json())).toEqual(['BAD_USER_INPUT']);
    expect(t.app.tasks.stats().waiters).toBe(0);
  });

  it('a huge awaitTask timeout is clamped to AWAIT_TIMEOUT_MAX_SECONDS, not refused', async () => {
    const short = await apps.start({ AWAIT_TIMEOUT_MAX_SECONDS: '0.2' });
    const { data } = await short.gql('mutation { createTask(kind: "clamp") { id } }');
    const started = performance.now();
    const clamped = await short.gql(AWAIT, { id: data.createTask.id, timeout: 1e12 });
    expect(clamped.data.awaitTask).toMatchObject({ done: false, revision: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('malformed ids are unknown: null, no error', async () => {
    for (const id of ['', 'x'.repeat(10_240), "' OR 1=1 --", 'a\u0000b', '🦄💥']) {
      const result = await t.gql(TASK, { id });
      expect(result.errors).toBeUndefined();
      expect(result.data.task).toBeNull();
      expect((await t.gql(AWAIT, { id, timeout: 5 })).data.awaitTask).toBeNull();
    }
  });

  it('an unexpected failure is masked: no stack, no SQL', async () => {
    await t.app.storage.close();
    const result = await t.gql(TASK, { id: 'x' });
    expect(result.errors).toEqual([expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    expect(JSON.stringify(result)).not.toMatch(/stack|sqlite|SELECT/i);
  });
});

describe('awaitTask over HTTP', () => {
  it('wakes when another request completes the task', async () => {
    const task = await created();
    await t.gql(CLAIM, { worker: 'w1' });
    const waiting = t.gql(AWAIT, { id: task.id, timeout: 30 });
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await t.gql(COMPLETE, { id: task.id, r: 7 });
    expect((await waiting).data.awaitTask).toMatchObject({ status: 'COMPLETED', result: 7, done: true });
  });

  it('with afterRevision returns on the next change', async () => {
    const task = await created();
    await t.gql(CLAIM, { worker: 'w1' });
    const waiting = t.gql(AWAIT, { id: task.id, timeout: 30, after: 2 });
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await t.gql(PROGRESS, { id: task.id, p: 5 });
    expect((await waiting).data.awaitTask).toMatchObject({ revision: 3, progress: 5, done: false });
  });
});

describe('tasks connection', () => {
  it('pages newest first with cursors, filtered by status and kind', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await created(i % 2 ? 'odd' : 'even')).id);
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: ids[4] });
    const LIST = `query($first: Int, $after: String, $status: TaskStatus, $kind: String) {
      tasks(first: $first, after: $after, status: $status, kind: $kind) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
    }`;
    const page1 = (await t.gql(LIST, { first: 2 })).data.tasks;
    const page2 = (await t.gql(LIST, { first: 2, after: page1.pageInfo.endCursor })).data.tasks;
    const page3 = (await t.gql(LIST, { first: 2, after: page2.pageInfo.endCursor })).data.tasks;
    const order = [...page1.edges, ...page2.edges, ...page3.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(order).toEqual([...ids].reverse());
    expect([page1.pageInfo.hasNextPage, page2.pageInfo.hasNextPage, page3.pageInfo.hasNextPage]).toEqual([true, true, false]);

    const evens = (await t.gql(LIST, { kind: 'even', status: 'QUEUED' })).data.tasks.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(evens).toEqual([ids[2], ids[0]]);
    expect((await t.gql(LIST, { after: 'garbage' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await t.gql(LIST, { first: 1000 })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
