import { join } from 'node:path';
import type { SubscriberEvents } from '../load/subscribers.js';
import type { WriteResults } from '../load/writer.js';
import { graphqlPost } from '../lib/graphql.js';
import { forkLoad, forkLoads, type LoadProcess } from '../lib/processes.js';
import { quiesce } from '../lib/quiesce.js';
import type { RequestTemplate } from '../lib/raw-http.js';
import { row, type Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, startBaseline } from '../lib/servers.js';
import { loadProcessesFor } from '../lib/settings.js';
import { maxOf, minOf, percentile } from '../lib/stats.js';
import { openSubscribers, type SubscriberPool } from '../lib/subscribers.js';
import { TASK_UPDATED } from '../lib/targets.js';

const DELIVERY_TIMEOUT_MS = 60_000;
const BROADCAST: RequestTemplate = { method: 'POST', path: '/broadcast', body: '' };

type Mode = 'one task' | 'distinct tasks';

/** One trigger and what every subscriber saw of it. */
interface Delivery {
  /** From the (first) commit to the last subscriber's receipt, in ms. */
  lastMs: number;
  /** From the (first) commit to the median subscriber's receipt, in ms. */
  medianMs: number;
  /** Subscribers that got nothing. */
  missing: number;
}

/**
 * Times one change reaching every subscriber: from the first commit, taken as
 * max(earliest updatedAt in the frames, when the trigger was sent) as in the wake scenario,
 * to each frame's arrival.
 */
function delivery(events: SubscriberEvents, sentAt: number, expected: number): Delivery {
  const commit = Math.max(minOf(events.updatedAt), sentAt);
  const received = new Set(events.socket).size;
  return {
    lastMs: maxOf(events.arrivedAt) - commit,
    medianMs: percentile(events.arrivedAt, 50) - commit,
    missing: expected - received,
  };
}

/** Sends `request` once per id in `ids`, all at once, and times the deliveries from the first commit. */
async function trigger(pool: SubscriberPool, writer: LoadProcess, port: number, request: RequestTemplate, ids: string[] = ['-']): Promise<Delivery> {
  await quiesce();
  await pool.mark();
  const writes = await writer.call<WriteResults>('run', { port, template: request, ids, ratePerSecond: Infinity });
  if (writes.failed > 0) throw new Error(`trigger failed: ${writes.failures.join('; ')}`);
  return delivery(await pool.collect(1, DELIVERY_TIMEOUT_MS), minOf(writes.sentAt), pool.size);
}

/** `reportProgress` of one task (`@@id@@`, filled in per task by the writer): each task is changed by its own mutation. */
const progressOf = (progress: number): RequestTemplate =>
  graphqlPost('mutation One($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p) { revision } }', { id: '@@id@@', p: progress });

/**
 * 6. Fan-out: 1,000 and 10,000 graphql-ws subscribers on one task and on distinct tasks:
 * time to the last delivery, against one pre-serialized frame broadcast by a bare
 * WebSocket server to as many sockets.
 */
export const fanout: Scenario = {
  name: 'fanout',
  title: '6. Fan-out: graphql-ws subscribers vs a pre-serialized broadcast',
  async run({ settings, dir, log }) {
    const largest = Math.max(...settings.fanoutSizes);
    const database = join(dir, 'fanout.db');
    const [hot, ...distinct] = seedDatabase(database, { live: { status: 'RUNNING', count: 1 + largest } }).liveIds as [string, ...string[]];
    const perSide = loadProcessesFor(largest);
    const [api, broadcast, writer, ourLoads, broadcastLoads] = await Promise.all([
      startApiServer({ DATABASE_URL: database, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      startBaseline('broadcast-ws.ts'),
      forkLoad('writer.ts'),
      forkLoads('subscribers.ts', perSide),
      forkLoads('subscribers.ts', perSide),
    ]);

    const rows: Row[] = [];
    const details: Record<string, Record<'ours' | 'broadcast', Delivery[]>> = {};
    let progress = 0;
    for (const size of settings.fanoutSizes) {
      const baselinePool = await openSubscribers(broadcastLoads, broadcast.wsUrl, Array<string>(size).fill('-'), TASK_UPDATED);
      for (const mode of ['one task', 'distinct tasks'] as const satisfies readonly Mode[]) {
        const ids = mode === 'one task' ? Array<string>(size).fill(hot) : distinct.slice(0, size);
        const taskIds = mode === 'one task' ? [hot] : ids;
        log(`${size} subscribers, ${mode}: connecting, then one unmeasured trigger per side`);
        const ours = await openSubscribers(ourLoads, api.wsUrl, ids, TASK_UPDATED);
        await trigger(ours, writer, api.port, progressOf(++progress % 100), taskIds);
        await trigger(baselinePool, writer, broadcast.port, BROADCAST);
        const rounds = { ours: [] as Delivery[], broadcast: [] as Delivery[] };
        for (let round = 1; round <= settings.rounds; round++) {
          rounds.ours.push(await trigger(ours, writer, api.port, progressOf(++progress % 100), taskIds));
          rounds.broadcast.push(await trigger(baselinePool, writer, broadcast.port, BROADCAST));
          const last = (side: 'ours' | 'broadcast') => rounds[side].at(-1)!.lastMs.toFixed(1);
          log(`round ${round}/${settings.rounds}: last delivery ${last('ours')} ms vs ${last('broadcast')} ms`);
        }
        await ours.close();
        details[`${size} ${mode}`] = rounds;
        rows.push(
          row({
            scenario: `Fan-out, ${size.toLocaleString('en-US')} subscribers, ${mode}: time to last delivery`,
            unit: 'ms',
            ours: rounds.ours.map((d) => d.lastMs),
            baseline: { label: 'broadcast', values: rounds.broadcast.map((d) => d.lastMs) },
            goal: { text: '≤ 1.3× broadcast', met: (_, ratio) => ratio <= 1.3 },
          }),
        );
      }
      await baselinePool.close();
    }
    const missing = Object.values(details)
      .flatMap((rounds) => [...rounds.ours, ...rounds.broadcast])
      .reduce((sum, d) => sum + d.missing, 0);
    return {
      rows,
      notes: [
        'One socket per subscriber, spread over load processes of ≤ 5,000 sockets; the baseline (bench/baselines/broadcast-ws.ts) ' +
          'serializes one `next` frame with the same fields once and sends that buffer to each socket. Time runs from the commit ' +
          "(max(updatedAt, trigger sent), as in wake; for distinct tasks the first commit) to the last frame's arrival at its client, " +
          "so both sides include the clients' own receive time.",
        'Distinct tasks: each task changed by its own reportProgress request, all sent at once over 32 keep-alive connections, ' +
          'as that many producers would; ours pays one request, one transaction and one event per task. Server with SQLITE_SYNCHRONOUS=NORMAL.',
        ...(missing > 0 ? [`**${missing} deliveries missing** over all rounds.`] : []),
      ],
      details,
    };
  },
};
