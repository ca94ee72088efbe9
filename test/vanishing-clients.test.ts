import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../src/tasks/principal.js';
import { expectNothingHeld, startApp, type TestApp } from './helpers/app.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

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
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  expect(metrics).toMatch(new RegExp(`^task_api_waiters ${count}$`, 'm'));
  child.kill('SIGKILL');
  await exited;
  await expectNothingHeld(t.app);
}

/** Heap in use once garbage and anything waiting on a later turn of the event loop is gone. */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage().heapUsed;
}

describe('clients that vanish mid-wait', () => {
  it('10,000 long-polls whose clients all vanish: gauge back to 0, heap back to baseline', async () => {
    const task = await t.app.tasks.create(OPEN_PRINCIPAL, { kind: 'held', maxAttempts: 1 });
    await holdThenVanish(task.id, 500);
    const baseline = await settledHeap();
    await holdThenVanish(task.id, 10_000);
    const after = await settledHeap();
    console.log(`heap used: baseline ${(baseline / 1e6).toFixed(1)} MB, after 10,000 vanished long-polls ${(after / 1e6).toFixed(1)} MB`);
    // A leak of even 1 KB per abandoned wait would show as 10 MB here.
    expect(after - baseline).toBeLessThan(4e6);
    expect((await fetch(`${t.url}/metrics`).then((r) => r.text())).match(/^task_api_waiters (\d+)$/m)?.[1]).toBe('0');
  }, 120_000);
});
