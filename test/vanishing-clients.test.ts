import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../src/tasks/principal.js';
import { expectNothingHeld, startApp, type TestApp } from './helpers/app.js';
import { metric } from './helpers/graphql.js';

let t: TestApp;
beforeEach(async () => {
  t = await startApp({ MAX_WAITERS_PER_CLIENT: '20000', AWAIT_TIMEOUT_MAX_SECONDS: '600' });
});
afterEach(async () => {
  await t.close();
});

/** Holds `count` long-polls from a child process, then kills it and waits for the gauge to reach 0. */
async function holdThenVanish(taskId: string, count: number) {
  const { port } = t.app.server.address() as AddressInfo;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hold-long-polls.ts', String(port), taskId, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => line === 'held' && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  await expect.poll(() => t.app.tasks.stats().waiters, { timeout: 60_000, interval: 100 }).toBe(count);
  expect(await metric(t.url, 'task_api_waiters')).toBe(count);
  child.kill('SIGKILL');
  await exited;
  await expectNothingHeld(t.app);
}

// What memory a vanished client leaves behind is measured in the bench (the soak scenario), not here.
describe('clients that vanish mid-wait', () => {
  it('10,000 long-polls whose clients all vanish: every waiter, listener and gauge back to 0', async () => {
    const task = await t.app.tasks.create(OPEN_PRINCIPAL, { kind: 'held', maxAttempts: 1 });
    await holdThenVanish(task.id, 10_000);
    expect(await metric(t.url, 'task_api_waiters')).toBe(0);
  }, 120_000);
});
