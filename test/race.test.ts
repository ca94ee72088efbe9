import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../src/tasks/principal.js';
import { expectNothingHeld, startApp, type TestApp } from './helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await startApp({ AWAIT_TIMEOUT_MAX_SECONDS: '15' });
});
afterEach(async () => {
  await expectNothingHeld(t.app);
  await t.close();
});

const post = (query: string, variables: Record<string, unknown>) =>
  fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  }).then((response) => response.json() as Promise<{ data: any; errors?: unknown[] }>);

describe('no missed wake-up', () => {
  it('a thousand awaits, each raced by its completion fired at the same moment, all see the final state', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      const task = await t.app.tasks.create(OPEN_PRINCIPAL, { kind: 'race', maxAttempts: 1 });
      await t.app.tasks.claim(OPEN_PRINCIPAL, { kinds: ['race'], workerId: 'w', leaseSeconds: 600 });
      ids.push(task.id);
    }
    const results = await Promise.all(
      ids.map((id) =>
        Promise.all([
          post(`query($id: ID!) { awaitTask(id: $id, timeout: 15) { id status done } }`, { id }),
          post(`mutation($id: ID!) { completeTask(id: $id, result: 1) { id } }`, { id }),
        ]),
      ),
    );
    const waits = results.map(([wait]) => wait.data.awaitTask);
    expect(results.flatMap(([wait, complete]) => [...(wait.errors ?? []), ...(complete.errors ?? [])])).toEqual([]);
    // A waiter that missed its wake-up would have slept until the timeout and answered done: false.
    expect(waits.filter((task) => !task.done)).toEqual([]);
    expect(waits.map((task) => task.id)).toEqual(ids);
  });
});
