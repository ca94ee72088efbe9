import { join } from 'node:path';
import type { LongPollResults } from '../load/long-polls.js';
import { splitEvenly } from '../lib/arrays.js';
import { sleep, waitUntil } from '../lib/clock.js';
import { metric } from '../lib/graphql.js';
import { measureCpu, percentOfCore, rssBytes } from '../lib/procfs.js';
import { forkLoads, type LoadProcess } from '../lib/processes.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, type Server } from '../lib/servers.js';
import { loadProcessesFor, type Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';
import { openSubscribers } from '../lib/subscribers.js';
import { apiLongPolls, TASK_UPDATED } from '../lib/targets.js';

/** Held and released once before measuring, so one-time costs (JIT, pools) are in the base RSS. */
const WARM_UP_POPULATION = 200;
const POPULATE_TIMEOUT_MS = 180_000;

/** A population the server holds: long-polls or subscriptions, one per task id. */
interface Population {
  /** Opens one per id and resolves once the server holds them all. */
  hold(ids: string[]): Promise<void>;
  release(): Promise<void>;
}

interface IdleMeasurement {
  /** RSS growth per held item, in KiB, at the end of each slice. */
  kibPerItem: number[];
  /** Server CPU in each slice with the population held, in % of one core. */
  cpuPercent: number[];
  /** Server CPU in each slice of an equal window before, with nothing held. */
  emptyCpuPercent: number[];
  baseRssBytes: number;
}

function longPolls(server: Server, holders: LoadProcess[]): Population {
  const target = apiLongPolls(server);
  let used: LoadProcess[] = [];
  return {
    async hold(ids) {
      const slices = splitEvenly(ids, holders.length);
      used = holders.slice(0, slices.length);
      await Promise.all(slices.map((slice, k) => used[k]!.call('hold', { port: server.port, template: target.wait, ids: slice })));
      const what = `${ids.length} held long-polls`;
      await waitUntil(async () => (await target.held()) >= ids.length, { timeoutMs: POPULATE_TIMEOUT_MS, intervalMs: 200, what });
    },
    async release() {
      await Promise.all(used.map((load) => load.call<LongPollResults>('collect', { timeoutMs: 0 })));
      await waitUntil(async () => (await target.held()) === 0, { timeoutMs: 30_000, what: 'long-polls released' });
    },
  };
}

function subscriptions(server: Server, loads: LoadProcess[]): Population {
  const held = () => metric(server.url, 'task_api_subscriptions');
  let close = async () => {};
  return {
    async hold(ids) {
      close = (await openSubscribers(loads, server.wsUrl, ids, TASK_UPDATED)).close;
      await waitUntil(async () => (await held()) >= ids.length, { timeoutMs: POPULATE_TIMEOUT_MS, intervalMs: 200, what: `${ids.length} subscriptions` });
    },
    async release() {
      await close();
      await waitUntil(async () => (await held()) === 0, { timeoutMs: 30_000, what: 'subscriptions released' });
    },
  };
}

/** Median RSS over a few samples, in bytes. */
async function steadyRss(pid: number, samples = 5, everyMs = 100): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(rssBytes(pid));
    await sleep(everyMs);
  }
  return median(values);
}

/** Server CPU over one slice of the idle window, in % of one core. */
async function sliceCpu(pid: number, settings: Settings): Promise<number> {
  const { cpuNs, wallMs } = await measureCpu(pid, () => sleep(settings.idleSliceSeconds * 1000));
  return percentOfCore(cpuNs, wallMs);
}

/** Time for the server to finish digesting the population (GC, socket buffers) before the window, in s. */
const settleSeconds = (settings: Settings) => Math.max(2, settings.idleSliceSeconds);

const slicesIn = (settings: Settings) => Math.round(settings.idleWindowSeconds / settings.idleSliceSeconds);

async function measureIdle(
  server: Server,
  population: Population,
  ids: string[],
  settings: Settings,
  log: (message: string) => void,
): Promise<IdleMeasurement> {
  await population.hold(ids.slice(0, WARM_UP_POPULATION));
  await population.release();
  await sleep(500);
  const baseRssBytes = await steadyRss(server.pid);
  const emptyCpuPercent: number[] = [];
  for (let slice = 0; slice < slicesIn(settings); slice++) emptyCpuPercent.push(await sliceCpu(server.pid, settings));
  await population.hold(ids);
  log(`${ids.length} held; settling ${settleSeconds(settings)} s, then ${settings.idleWindowSeconds} s idle window`);
  await sleep(settleSeconds(settings) * 1000);
  const cpuPercent: number[] = [];
  const kibPerItem: number[] = [];
  for (let slice = 0; slice < slicesIn(settings); slice++) {
    cpuPercent.push(await sliceCpu(server.pid, settings));
    kibPerItem.push((rssBytes(server.pid) - baseRssBytes) / ids.length / 1024);
  }
  await population.release();
  return { kibPerItem, cpuPercent, emptyCpuPercent, baseRssBytes };
}

/**
 * 5. Memory and idle: RSS per held long-poll and per WebSocket subscriber with N of each
 * (each on its own server), and the server's CPU while they idle.
 */
export const memoryIdle: Scenario = {
  name: 'idle',
  title: '5. Memory and idle: RSS per held long-poll and per subscriber; idle CPU',
  async run({ settings, dir, log }) {
    const count = settings.idlePopulation;
    const databases = { polls: join(dir, 'polls.db'), subscribers: join(dir, 'subscribers.db') };
    const ids = {
      polls: seedDatabase(databases.polls, { live: { status: 'QUEUED', count } }).liveIds,
      subscribers: seedDatabase(databases.subscribers, { live: { status: 'QUEUED', count } }).liveIds,
    };
    const [pollServer, subscriberServer, holders, subscriberLoads] = await Promise.all([
      startApiServer({ DATABASE_URL: databases.polls }),
      startApiServer({ DATABASE_URL: databases.subscribers }),
      forkLoads('long-polls.ts', loadProcessesFor(count)),
      forkLoads('subscribers.ts', loadProcessesFor(count)),
    ]);
    const [polls, subscribers] = await Promise.all([
      measureIdle(pollServer, longPolls(pollServer, holders), ids.polls, settings, log),
      measureIdle(subscriberServer, subscriptions(subscriberServer, subscriberLoads), ids.subscribers, settings, log),
    ]);
    const n = count.toLocaleString('en-US');
    const memoryGoal = { text: '≤ 15 KB', met: (kib: number) => kib <= 15 };
    return {
      rows: [
        row({ scenario: `Memory: RSS per held long-poll (${n})`, unit: 'KiB', ours: polls.kibPerItem, goal: memoryGoal }),
        row({ scenario: `Memory: RSS per WebSocket subscriber (${n})`, unit: 'KiB', ours: subscribers.kibPerItem, goal: memoryGoal }),
        row({
          scenario: `Idle CPU, ${n} held long-polls`,
          unit: '% core',
          ours: polls.cpuPercent,
          baseline: { label: 'nothing held', values: polls.emptyCpuPercent },
          goal: { text: '≤ 0.1 %', met: (v) => v <= 0.1 },
        }),
        row({
          scenario: `Idle CPU, ${n} WebSocket subscribers`,
          unit: '% core',
          ours: subscribers.cpuPercent,
          baseline: { label: 'nothing held', values: subscribers.emptyCpuPercent },
          goal: { text: '≤ 1 %', met: (v) => v <= 1 },
        }),
      ],
      notes: [
        'Both populations at once, each on its own fresh server: one long-poll (GraphQL awaitTask over POST) or one graphql-ws ' +
          'socket with one taskUpdated subscription per queued task. ' +
          `RSS per item = (RSS − RSS after holding and releasing ${WARM_UP_POPULATION} once) ÷ ${n}, ` +
          `sampled at the end of each ${settings.idleSliceSeconds} s slice of a ${settings.idleWindowSeconds} s idle window after ` +
          `${settleSeconds(settings)} s of settling; min–max are over the slices. RSS includes garbage not yet collected, and is in ` +
          "KiB (1,024 bytes), a little stricter than the goal's KB. The baseline is the same server over an equal window before, " +
          'with nothing held: the floor the population adds to.',
      ],
      details: { polls, subscribers },
    };
  },
};
