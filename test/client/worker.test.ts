import { afterEach, describe, expect, it } from 'vitest';
import { runWorker } from '../../src/client/worker.js';
import { OPEN_PRINCIPAL as me } from '../../src/tasks/principal.js';
import { useApps } from '../helpers/app.js';
import { gqlRequest } from '../helpers/graphql.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';

const apps = useApps();
let server: ServerProcess | undefined;
afterEach(() => {
  server?.child.kill('SIGKILL');
  server = undefined;
});

describe('runWorker (src/client/worker.ts, run by examples/worker.ts and the demo)', () => {
  it('claims, reports progress, completes; fails with retry; stops gracefully', async () => {
    const t = await apps.start();
    const ok = await t.app.tasks.create(me, { kind: 'job', input: { n: 1 }, maxAttempts: 1 });
    const flaky = await t.app.tasks.create(me, { kind: 'job', input: { n: 2 }, maxAttempts: 2 });
    const stop = new AbortController();
    const handled: string[] = [];
    const worker = runWorker({
      url: `${t.url}/graphql`,
      workerId: 'w1',
      kinds: ['job'],
      idleMs: 20,
      signal: stop.signal,
      async handle({ task, progress, output }) {
        handled.push(task.id);
        expect(await output('working\n')).toBe(task.attempts);
        await progress(50, 'half');
        if ((task.input as { n: number }).n === 2) throw new Error('boom');
        return { doubled: 2 };
      },
    });
    await expect.poll(async () => (await t.app.tasks.get(me, flaky.id))?.status).toBe('FAILED');
    stop.abort();
    await worker;
    expect(await t.app.tasks.get(me, ok.id)).toMatchObject({ status: 'COMPLETED', result: { doubled: 2 }, progress: 100 });
    expect(await t.app.tasks.get(me, flaky.id)).toMatchObject({ status: 'FAILED', attempts: 2, error: { message: 'boom' } });
    expect(handled).toEqual([ok.id, flaky.id, flaky.id]);
    const okTask = (await t.app.tasks.get(me, ok.id))!;
    expect((await t.app.tasks.output(okTask, { after: 0, first: 10 })).map(({ stream, data }) => [stream, data])).toEqual([['log', 'working\n']]);
  });

  it('a task cancelled mid-work aborts the handler through its failed heartbeat', async () => {
    const t = await apps.start();
    const task = await t.app.tasks.create(me, { kind: 'long', maxAttempts: 1 });
    const stop = new AbortController();
    let aborted = false;
    const worker = runWorker({
      url: `${t.url}/graphql`,
      workerId: 'w1',
      leaseSeconds: 1,
      idleMs: 20,
      signal: stop.signal,
      handle: ({ signal }) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve(null);
          }),
        ),
    });
    await expect.poll(async () => (await t.app.tasks.get(me, task.id))?.status).toBe('RUNNING');
    await t.app.tasks.cancel(me, { id: task.id, reason: 'user' });
    await expect.poll(() => aborted, { timeout: 5_000 }).toBe(true);
    stop.abort();
    await worker;
    expect((await t.app.tasks.get(me, task.id))?.status).toBe('CANCELLED');
  });
});

describe('demo mode', () => {
  it('seeds demo tasks and its worker moves them to a final state', async () => {
    // A fixed seed (the same steps, failures and results every run) and 10 ms steps.
    server = await startServerProcess({ DATABASE_URL: ':memory:', DEMO: 'true', DEMO_SEED: '7', DEMO_STEP_MS: '10' });
    const list = async () => {
      const { data } = await gqlRequest<{ tasks: { edges: { node: { status: string; output: { stream: string }[] } }[] } }>(
        server!.url,
        '{ tasks(kind: "demo.report") { edges { node { status output { stream } } } } }',
      );
      return data.tasks.edges.map((e) => e.node);
    };
    await expect.poll(async () => (await list()).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(async () => (await list()).filter((task) => task.status === 'COMPLETED').length, { timeout: 10_000 }).toBe(3);
    // Each completed task streamed its log lines and its tokens.
    for (const task of (await list()).filter((task) => task.status === 'COMPLETED')) {
      expect(new Set(task.output.map((chunk) => chunk.stream))).toEqual(new Set(['log', 'tokens']));
    }
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});
