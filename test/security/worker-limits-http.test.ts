/**
 * The worker limits as a worker meets them, over a real socket: a lease past MAX_LEASE_SECONDS
 * and a claim naming more than 100 kinds are BAD_USER_INPUT and change nothing; the longest
 * lease sets a lease timer that waits (a delay past what `setTimeout` holds would fire at once,
 * with a TimeoutOverflowWarning, and read the store for expired leases again and again).
 */
import { describe, expect, it } from 'vitest';
import { MAX_LEASE_SECONDS } from '../../src/tasks/task.js';
import { TASK_FIELDS, useApps, type TestApp } from '../helpers/app.js';
import { codes } from '../helpers/graphql.js';

const CREATE = 'mutation { createTask(kind: "k") { id } }';
const CLAIM = 'mutation($kinds: [String!], $lease: Int) { claimTask(kinds: $kinds, workerId: "w1", leaseSeconds: $lease) { id leaseExpiresAt } }';
const HEARTBEAT = 'mutation($id: ID!, $lease: Int) { heartbeat(id: $id, workerId: "w1", leaseSeconds: $lease) { id leaseExpiresAt } }';
const TASK = `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} workerId leaseExpiresAt } }`;

const apps = useApps();

const created = async (t: TestApp): Promise<string> => (await t.gql(CREATE)).data.createTask.id;
const taskOf = async (t: TestApp, id: string) => (await t.gql(TASK, { id })).data.task;
const kinds = (n: number) => Array.from({ length: n }, (_, i) => `kind-${i}`);

describe('lease lengths', () => {
  it('claimTask and heartbeat with a lease past MAX_LEASE_SECONDS get BAD_USER_INPUT, and the task stays as it was', async () => {
    const t = await apps.start();
    const id = await created(t);
    const queued = await taskOf(t, id);
    for (const lease of [3_000_000, MAX_LEASE_SECONDS + 1]) {
      const refused = await t.gql(CLAIM, { lease });
      expect([refused.data?.claimTask ?? null, codes(refused)]).toEqual([null, ['BAD_USER_INPUT']]);
    }
    expect(await taskOf(t, id)).toEqual(queued);

    const claimed = await t.gql(CLAIM, { lease: 60 });
    expect(claimed.data.claimTask.id).toBe(id);
    const running = await taskOf(t, id);
    const heartbeat = await t.gql(HEARTBEAT, { id, lease: MAX_LEASE_SECONDS + 1 });
    expect([heartbeat.data?.heartbeat ?? null, codes(heartbeat)]).toEqual([null, ['BAD_USER_INPUT']]);
    expect(await taskOf(t, id)).toEqual(running);
    // The longest lease itself is taken.
    expect(codes(await t.gql(HEARTBEAT, { id, lease: MAX_LEASE_SECONDS }))).toBeUndefined();
  });

  it('the longest lease sets a timer that waits: no TimeoutOverflowWarning and no look for expired leases in the turns after the claim', async () => {
    const t = await apps.start();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { store } = t.app.storage;
      let expiryReads = 0;
      const expireLeases = store.expireLeases.bind(store);
      store.expireLeases = (...args) => {
        expiryReads++;
        return expireLeases(...args);
      };
      const id = await created(t);
      expect((await t.gql(CLAIM, { lease: MAX_LEASE_SECONDS })).data.claimTask.id).toBe(id);
      // A timer whose delay overflowed fires after 1 ms: before this later one, which is set
      // after it for longer, and before the request and the turn after it are over.
      await taskOf(t, id);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'TimeoutOverflowWarning')).toEqual([]);
      expect(expiryReads).toBe(0);
      expect((await taskOf(t, id)).status).toBe('RUNNING');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('kinds per claim', () => {
  it('101 kinds and 40,000 kinds get BAD_USER_INPUT (no 500), and nothing is claimed', async () => {
    const t = await apps.start();
    const id = await created(t);
    const queued = await taskOf(t, id);
    for (const n of [101, 40_000]) {
      const refused = await t.gql(CLAIM, { kinds: kinds(n), lease: 60 });
      expect([refused.status < 500, refused.data?.claimTask ?? null, codes(refused)]).toEqual([true, null, ['BAD_USER_INPUT']]);
    }
    expect(await taskOf(t, id)).toEqual(queued);
    // A hundred is allowed.
    expect((await t.gql(CLAIM, { kinds: [...kinds(99), 'k'], lease: 60 })).data.claimTask.id).toBe(id);
  });
});
