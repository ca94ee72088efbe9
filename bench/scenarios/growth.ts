import { join } from 'node:path';
import { chunk } from '../lib/arrays.js';
import { graphqlPost, TASK_FIELDS } from '../lib/graphql.js';
import { measureHttp, warmUp, type HttpMeasurement } from '../lib/http-bench.js';
import { forkLoad, forkLoads } from '../lib/processes.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase, type Seeded } from '../lib/seed.js';
import { startApiServer } from '../lib/servers.js';
import { loadProcessesFor } from '../lib/settings.js';
import { percentile } from '../lib/stats.js';
import { apiLongPolls } from '../lib/targets.js';
import { summarizeRound, wakeRound, type WakeRound } from '../lib/wake.js';

const READ_QUERY = `query Read($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;
const SMALL_ROWS = 1_000;
/** Distinct ids each read measurement cycles through, drawn from the whole table. */
const READ_SAMPLE = 1_000;
const SIZES = ['small', 'large'] as const;
type Size = (typeof SIZES)[number];

/**
 * 8. Growth: `task(id)` reads and wake latency with 1,000 and with 1,000,000 tasks in the
 * table (seeded before the servers start), interleaved round by round.
 */
export const growth: Scenario = {
  name: 'growth',
  title: '8. Growth: task(id) and wake latency, 1,000 vs many tasks in the table',
  async run({ settings, dir, log }) {
    const { rounds, growthWaiters, growthRows } = settings;
    const rows: Record<Size, number> = { small: SMALL_ROWS, large: growthRows };
    const seed = (size: Size): Seeded => {
      const started = performance.now();
      const live = growthWaiters * rounds;
      const seeded = seedDatabase(join(dir, `${size}.db`), { live: { status: 'RUNNING', count: live }, filler: rows[size] - live, fillerSample: READ_SAMPLE });
      log(`seeded ${rows[size].toLocaleString('en-US')} tasks in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return seeded;
    };
    const seeded = { small: seed('small'), large: seed('large') };
    const [small, large, load, holders, writer] = await Promise.all([
      startApiServer({ DATABASE_URL: join(dir, 'small.db'), SQLITE_SYNCHRONOUS: 'NORMAL' }),
      startApiServer({ DATABASE_URL: join(dir, 'large.db'), SQLITE_SYNCHRONOUS: 'NORMAL' }),
      forkLoad('http-load.ts'),
      forkLoads('long-polls.ts', loadProcessesFor(growthWaiters)),
      forkLoad('writer.ts'),
    ]);
    const servers = { small, large };
    const reads = (size: Size) => seeded[size].fillerIds.map((id) => graphqlPost(READ_QUERY, { id }));
    const wakeIds = { small: chunk(seeded.small.liveIds, growthWaiters), large: chunk(seeded.large.liveIds, growthWaiters) };

    await warmUp(load, SIZES.map((size) => ({ server: servers[size], requests: reads(size) })), settings);
    const http: Record<Size, HttpMeasurement[]> = { small: [], large: [] };
    const wakes: Record<Size, WakeRound[]> = { small: [], large: [] };
    const options = { holders, writer, ratePerSecond: settings.eventsPerSecond, idleSeconds: 0 };
    for (let round = 0; round < rounds; round++) {
      for (const size of SIZES) http[size].push(await measureHttp(load, servers[size], reads(size), settings));
      for (const size of SIZES) wakes[size].push(await wakeRound(apiLongPolls(servers[size]), wakeIds[size][round]!, options));
      log(`round ${round + 1}/${rounds}: reads ${http.small.at(-1)!.throughput.toFixed(0)} vs ${http.large.at(-1)!.throughput.toFixed(0)} req/s`);
    }

    const label = `Growth, ${growthRows.toLocaleString('en-US')} vs ${SMALL_ROWS.toLocaleString('en-US')} tasks`;
    const pick = (values: (size: Size) => number[]) => ({ ours: values('large'), baseline: { label: '1,000 tasks', values: values('small') } });
    const wakeP = (q: number) => (size: Size) => wakes[size].map((r) => percentile(r.commitToResponseMs, q));
    const within = { text: '≤ 1.1×', met: (_: number, ratio: number) => ratio <= 1.1 };
    return {
      rows: [
        row({
          scenario: `${label}: task(id) throughput`,
          unit: 'req/s',
          ...pick((size) => http[size].map((m) => m.throughput)),
          goal: { text: '≥ 0.91× (within 1.1×)', met: (_, ratio) => ratio >= 1 / 1.1 },
        }),
        row({ scenario: `${label}: task(id) latency p50`, unit: 'ms', ...pick((size) => http[size].map((m) => m.p50)), goal: within }),
        row({ scenario: `${label}: wake commit→response p50`, unit: 'ms', ...pick(wakeP(50)), goal: within }),
        row({ scenario: `${label}: wake commit→response p99`, unit: 'ms', ...pick(wakeP(99)), goal: within }),
      ],
      notes: [
        `Reads cycle over ${READ_SAMPLE.toLocaleString('en-US')} random ids of finished tasks spread over each table; ` +
          `wake: ${growthWaiters} held awaitTask per round, completed at ${settings.eventsPerSecond.toLocaleString('en-US')}/s. ` +
          'Both servers run at once (only one is loaded at a time), SQLITE_SYNCHRONOUS=NORMAL.',
      ],
      details: { http, wakes: { small: wakes.small.map(summarizeRound), large: wakes.large.map(summarizeRound) } },
    };
  },
};
