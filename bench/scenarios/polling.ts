import { join } from 'node:path';
import { chunk } from '../lib/arrays.js';
import { forkLoad, forkLoads } from '../lib/processes.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, startBaseline } from '../lib/servers.js';
import { loadProcessesFor } from '../lib/settings.js';
import { median, percentile } from '../lib/stats.js';
import { apiLongPolls, pollingLongPolls } from '../lib/targets.js';
import { summarizeRound, wakeRound, type WakeRound } from '../lib/wake.js';

type Side = 'ours' | 'polling';

/**
 * 3. Against polling: the wake scenario against the usual hand-written long-poll that
 * re-reads SQLite every 100 ms (bench/baselines/polling-server.ts), interleaved round by
 * round: latency, and CPU while the long-polls are held and nothing changes.
 */
export const polling: Scenario = {
  name: 'polling',
  title: '3. Against polling: held long-polls vs a 100 ms SQLite re-read loop',
  async run({ settings, dir, log }) {
    const { pollingWaiters: waiters, rounds, eventsPerSecond, pollingIdleSeconds } = settings;
    const databases: Record<Side, string> = { ours: join(dir, 'ours.db'), polling: join(dir, 'polling.db') };
    const seed = (side: Side) => chunk(seedDatabase(databases[side], { live: { status: 'RUNNING', count: waiters * rounds } }).liveIds, waiters);
    const ids = { ours: seed('ours'), polling: seed('polling') };
    const [api, poller, holders, writer] = await Promise.all([
      startApiServer({ DATABASE_URL: databases.ours, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      startBaseline('polling-server.ts', { DATABASE_URL: databases.polling, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      forkLoads('long-polls.ts', loadProcessesFor(waiters)),
      forkLoad('writer.ts'),
    ]);
    const targets = { ours: apiLongPolls(api), polling: pollingLongPolls(poller) };
    const results: Record<Side, WakeRound[]> = { ours: [], polling: [] };
    const options = { holders, writer, ratePerSecond: eventsPerSecond, idleSeconds: pollingIdleSeconds };
    for (let round = 0; round < rounds; round++) {
      for (const side of ['ours', 'polling'] as const) results[side].push(await wakeRound(targets[side], ids[side][round]!, options));
      const [ours, poll] = [results.ours.at(-1)!, results.polling.at(-1)!];
      const p99 = (r: WakeRound) => percentile(r.commitToResponseMs, 99).toFixed(2);
      const idle = (r: WakeRound) => r.idleCpuPercent.toFixed(2);
      log(`round ${round + 1}/${rounds}: p99 ${p99(ours)} vs ${p99(poll)} ms; idle ${idle(ours)} vs ${idle(poll)} % core`);
    }

    const per = (side: Side, q: number) => results[side].map((r) => percentile(r.commitToResponseMs, q));
    const idle = (side: Side) => results[side].map((r) => r.idleCpuPercent);
    const lost = (side: Side) => results[side].reduce((sum, r) => sum + r.lost, 0);
    const busy = (side: Side) => median(results[side].map((r) => r.busyCpuPercent)).toFixed(0);
    const label = `vs polling, ${waiters.toLocaleString('en-US')} held`;
    return {
      rows: [
        row({ scenario: `${label}: commit→response p50`, unit: 'ms', ours: per('ours', 50), baseline: { label: 'polling', values: per('polling', 50) } }),
        row({
          scenario: `${label}: commit→response p99`,
          unit: 'ms',
          ours: per('ours', 99),
          baseline: { label: 'polling', values: per('polling', 99) },
          goal: { text: '≤ 0.05× (≥ 20× lower)', met: (_, ratio) => ratio <= 0.05 },
        }),
        row({
          scenario: `${label}: idle CPU`,
          unit: '% core',
          ours: idle('ours'),
          baseline: { label: 'polling', values: idle('polling') },
          goal: { text: '≤ 0.01× (≥ 100× less)', met: (_, ratio) => ratio <= 0.01 },
        }),
      ],
      notes: [
        `Same tasks, load processes, rate (${eventsPerSecond.toLocaleString('en-US')} completions/s) and latency definition as wake; ` +
          'the polling server uses the same database layer (SQLITE_SYNCHRONOUS=NORMAL for both). ' +
          `Idle CPU over ${pollingIdleSeconds} s once every long-poll is held, before the completions. ` +
          `Lost: ours ${lost('ours')}, polling ${lost('polling')}. ` +
          `Server CPU during the completions (median): ours ${busy('ours')} %, polling ${busy('polling')} % of a core.`,
      ],
      details: { ours: results.ours.map(summarizeRound), polling: results.polling.map(summarizeRound) },
    };
  },
};
