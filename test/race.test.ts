import { describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../src/tasks/principal.js';
import { useApp } from './helpers/app.js';

const t = useApp({ AWAIT_TIMEOUT_MAX_SECONDS: '15' });

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
          t.gql(`query($id: ID!) { awaitTask(id: $id, timeout: 15) { id status done } }`, { id }),
          t.gql(`mutation($id: ID!) { completeTask(id: $id, result: 1) { id } }`, { id }),
        ]),
      ),
    );
    const waits = results.map(([wait]) => wait.data.awaitTask);
    expect(results.flatMap(([wait, complete]) => [...(wait.errors ?? []), ...(complete.errors ?? [])])).toEqual([]);
    // A waiter that missed its wake-up would have slept until the timeout and answered done: false.
    expect(waits.filter((task) => !task.done)).toEqual([]);
    expect(waits.map((task) => task.id)).toEqual(ids);
    // 2,000 setup transactions one after another: seconds on PostgreSQL (the `postgres` project).
  }, 60_000);
});
