import { describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../src/tasks/principal.js';
import type { Task } from '../src/tasks/task.js';
import { useApp } from './helpers/app.js';
import { codes } from './helpers/graphql.js';

const t = useApp();

describe('complete racing cancel', () => {
  it('1,000 trials: exactly one wins, the loser is refused or idempotent, and events match the database', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      ids.push((await t.app.tasks.create(OPEN_PRINCIPAL, { kind: 'race', maxAttempts: 1 })).id);
      await t.app.tasks.claim(OPEN_PRINCIPAL, { kinds: ['race'], workerId: 'w', leaseSeconds: 600 });
    }
    const events = new Map<string, Task[]>(ids.map((id) => [id, []]));
    const unsubscribe = ids.map((id) => t.app.events.subscribe(id, (task) => events.get(id)!.push(task)));

    // Each task's two writes are sent together; 50 tasks at a time keeps 100 requests in flight,
    // under the listen backlog, so a loaded machine resets no connection.
    const trials: Awaited<ReturnType<typeof race>>[] = [];
    // Every other task has its cancel sent first, so both sides get to win.
    const race = async (id: string, n: number) => {
      const complete = () => t.gql(`mutation($id: ID!) { completeTask(id: $id, workerId: "w", result: "done") { status revision } }`, { id });
      const cancel = () => t.gql(`mutation($id: ID!) { cancelTask(id: $id, reason: "race") { status revision } }`, { id });
      if (n % 2 === 0) return Promise.all([complete(), cancel()]);
      const [cancelled, completed] = await Promise.all([cancel(), complete()]);
      return [completed, cancelled] as const;
    };
    try {
      for (let start = 0; start < ids.length; start += 50) trials.push(...(await Promise.all(ids.slice(start, start + 50).map((id, n) => race(id, n)))));
    } finally {
      unsubscribe.forEach((stop) => stop());
    }

    const wins = { completed: 0, cancelled: 0 };
    for (const [i, [complete, cancel]] of trials.entries()) {
      const id = ids[i]!;
      const stored = (await t.app.tasks.get(OPEN_PRINCIPAL, id))!;
      const published = events.get(id)!;
      expect(published).toHaveLength(1);
      expect(published[0]).toEqual(stored);
      expect(stored.revision).toBe(3);
      if (stored.status === 'COMPLETED') {
        wins.completed++;
        expect(complete.data.completeTask).toEqual({ status: 'COMPLETED', revision: 3 });
        expect(cancel.data.cancelTask).toEqual({ status: 'COMPLETED', revision: 3 });
      } else {
        wins.cancelled++;
        expect(stored.status).toBe('CANCELLED');
        expect(cancel.data.cancelTask).toEqual({ status: 'CANCELLED', revision: 3 });
        expect(codes(complete)).toEqual(['INVALID_TRANSITION']);
      }
    }
    expect(wins.completed + wins.cancelled).toBe(1_000);
    expect(Math.min(wins.completed, wins.cancelled)).toBeGreaterThan(0);
    console.log(`complete won ${wins.completed}, cancel won ${wins.cancelled} of 1000`);
  });
});
