import { join } from 'node:path';
import { chunk } from '../lib/arrays.js';
import { forkLoad, forkLoads } from '../lib/processes.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer } from '../lib/servers.js';
import { loadProcessesFor } from '../lib/settings.js';
import { median, percentile } from '../lib/stats.js';
import { apiLongPolls } from '../lib/targets.js';
import { COMMIT_TO_RESPONSE_NOTE, SERVER_WAKE_NOTE, summarizeRound, wakeRound, type WakeRound } from '../lib/wake.js';

/**
 * 2. Wake: N held `awaitTask` long-polls on N running tasks, completed at a fixed rate;
 * time from each commit to the answer at the client, and no waiter lost.
 */
export const wake: Scenario = {
  name: 'wake',
  title: '2. Wake: held awaitTask long-polls, completions at a fixed rate',
  async run({ settings, dir, log }) {
    const { waiters, rounds, eventsPerSecond } = settings;
    const database = join(dir, 'wake.db');
    const { liveIds } = seedDatabase(database, { live: { status: 'RUNNING', count: waiters * rounds } });
    const [api, holders, writer] = await Promise.all([
      startApiServer({ DATABASE_URL: database, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      forkLoads('long-polls.ts', loadProcessesFor(waiters)),
      forkLoad('writer.ts'),
    ]);
    const results: WakeRound[] = [];
    for (const [index, ids] of chunk(liveIds, waiters).entries()) {
      const result = await wakeRound(apiLongPolls(api), ids, { holders, writer, ratePerSecond: eventsPerSecond, idleSeconds: 0 });
      results.push(result);
      const [p50, p99] = [50, 99].map((q) => percentile(result.commitToResponseMs, q).toFixed(3));
      log(`round ${index + 1}/${rounds}: p50 ${p50} ms, p99 ${p99} ms, lost ${result.lost}`);
    }

    const per = (pick: (r: WakeRound) => number[], q: number) => results.map((r) => percentile(pick(r), q));
    const label = `Wake, ${waiters.toLocaleString('en-US')} held, ${eventsPerSecond.toLocaleString('en-US')}/s`;
    const lost = results.reduce((sum, r) => sum + r.lost, 0);
    const failures = results.reduce((sum, r) => sum + r.completionFailures, 0);
    const busy = median(results.map((r) => r.busyCpuPercent)).toFixed(0);
    return {
      rows: [
        row({
          scenario: `${label}: commit→response p50`,
          unit: 'ms',
          ours: per((r) => r.commitToResponseMs, 50),
          goal: { text: '≤ 0.5 ms', met: (v) => v <= 0.5 },
        }),
        row({
          scenario: `${label}: commit→response p99`,
          unit: 'ms',
          ours: per((r) => r.commitToResponseMs, 99),
          goal: { text: '≤ 5 ms', met: (v) => v <= 5 },
        }),
        row({ scenario: `${label}: waiters lost (all rounds)`, unit: '', ours: [lost], goal: { text: '0', met: (v) => v === 0 } }),
        row({ scenario: `${label}: send→response p50 (client-side)`, unit: 'ms', ours: per((r) => r.sendToResponseMs, 50) }),
        row({ scenario: `${label}: send→response p99 (client-side)`, unit: 'ms', ours: per((r) => r.sendToResponseMs, 99) }),
        row({ scenario: `${label}: commit→written mean (server histogram)`, unit: 'ms', ours: results.map((r) => r.serverWakeMs!.mean) }),
        row({ scenario: `${label}: commit→written p50 (server histogram)`, unit: 'ms', ours: results.map((r) => r.serverWakeMs!.p50) }),
        row({ scenario: `${label}: commit→written p99 (server histogram)`, unit: 'ms', ours: results.map((r) => r.serverWakeMs!.p99) }),
      ],
      notes: [
        COMMIT_TO_RESPONSE_NOTE,
        SERVER_WAKE_NOTE,
        'Server with SQLITE_SYNCHRONOUS=NORMAL: the fsync of FULL happens before the commit, so it is not part of commit→response ' +
          `(scenario 7 measures it). Median of raw arrival − updatedAt p50: ${median(per((r) => r.updatedToResponseMs, 50)).toFixed(3)} ms. ` +
          `Server CPU from the first completion to the last answer: median ${busy} % of a core (all threads; near or above 100 %: ` +
          'saturated, and the latencies are mostly queueing).',
        ...(failures > 0 ? [`${failures} completing mutations failed.`] : []),
      ],
      details: { rounds: results.map(summarizeRound) },
    };
  },
};
