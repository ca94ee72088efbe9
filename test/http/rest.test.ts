import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useApp, useApps } from '../helpers/app.js';
import { metric, metricsText, sample } from '../helpers/graphql.js';

const t = useApp();
const apps = useApps();

async function createdTask() {
  const { data } = await t.gql(`mutation { createTask(kind: "rest", input: {n: 1}) { id } }`);
  return data.createTask.id as string;
}

const get = async (path: string) => {
  const response = await fetch(`${t.url}${path}`);
  return { status: response.status, body: await response.json() };
};

describe('REST polling endpoints', () => {
  it('GET /api/queue/poll/:id returns the original format', async () => {
    const id = await createdTask();
    await t.gql(`mutation { claimTask(workerId: "w", leaseSeconds: 60) { id } }`);
    await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: {rows: 3}) { id } }`, { id });
    const { status, body } = await get(`/api/queue/poll/${id}`);
    expect(status).toBe(200);
    expect(Object.keys(body).slice(0, 6)).toEqual(['task_id', 'status', 'result', 'progress', 'created_at', 'completed_at']);
    expect(body).toMatchObject({ task_id: id, status: 'completed', result: { rows: 3 }, progress: 100, revision: 3 });
    expect(body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(body.completed_at).toMatch(/Z$/);
  });

  it('unknown and malformed ids are 404 NOT_FOUND', async () => {
    for (const path of ['/api/queue/poll/nope', '/api/queue/poll/%E0%A4%A', '/api/queue/poll/nope/wait?timeout=1', `/api/queue/poll/${'x'.repeat(10_000)}`]) {
      const { status, body } = await get(path);
      expect(status).toBe(404);
      expect(body.error.code).toBe('NOT_FOUND');
      expect(typeof body.error.message).toBe('string');
    }
  });

  it('/wait holds until the task is done and answers with the final state', async () => {
    const id = await createdTask();
    const waiting = get(`/api/queue/poll/${id}/wait?timeout=30`);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id, reason: "stop") { id } }`, { id });
    const { status, body } = await waiting;
    expect(status).toBe(200);
    expect(body).toMatchObject({ task_id: id, status: 'cancelled', error: { code: 'CANCELLED', message: 'stop' } });
  });

  it('/wait with after_revision returns on the next change; timeout=0 at once', async () => {
    const id = await createdTask();
    expect((await get(`/api/queue/poll/${id}/wait?timeout=0`)).body.status).toBe('queued');
    const waiting = get(`/api/queue/poll/${id}/wait?timeout=30&after_revision=1`);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await t.gql(`mutation { claimTask(workerId: "w", leaseSeconds: 60) { id } }`);
    expect((await waiting).body).toMatchObject({ status: 'running', revision: 2 });
  });

  it('bad timeouts are 400 BAD_USER_INPUT and hold nothing', async () => {
    const id = await createdTask();
    for (const timeout of ['-1', 'abc', '1e309', 'NaN', 'Infinity']) {
      const { status, body } = await get(`/api/queue/poll/${id}/wait?timeout=${timeout}`);
      expect(status).toBe(400);
      // The rule awaitTask refuses with, word for word: one check for both.
      expect(body.error).toEqual({ code: 'BAD_USER_INPUT', message: 'timeout must be a finite number of seconds, 0 or more.' });
    }
  });

  it('a huge timeout is clamped to AWAIT_TIMEOUT_MAX_SECONDS', async () => {
    const short = await apps.start({ AWAIT_TIMEOUT_MAX_SECONDS: '0.2' });
    const { data } = await short.gql('mutation { createTask(kind: "clamp") { id } }');
    const started = performance.now();
    const response = await fetch(`${short.url}/api/queue/poll/${data.createTask.id}/wait?timeout=1e12`);
    expect([response.status, (await response.json()).status]).toEqual([200, 'queued']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('a client that disconnects mid-wait releases its waiter at once', async () => {
    const id = await createdTask();
    const req = request(`${t.url}/api/queue/poll/${id}/wait?timeout=60`);
    req.on('error', () => {});
    req.end();
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    req.destroy();
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(0);
  });

  it('only GET is allowed', async () => {
    const id = await createdTask();
    const response = await fetch(`${t.url}/api/queue/poll/${id}`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect((await response.json()).error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('health and metrics', () => {
  it('/healthz and /readyz answer 200 while serving', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('/metrics exposes the waiter and subscription gauges, live', async () => {
    const id = await createdTask();
    const waiting = get(`/api/queue/poll/${id}/wait?timeout=30`);
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    const text = await metricsText(t.url);
    expect([sample(text, 'task_api_waiters'), sample(text, 'task_api_subscriptions')]).toEqual([1, 0]);
    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id });
    await waiting;
    expect(await metric(t.url, 'task_api_waiters')).toBe(0);
  });
});
