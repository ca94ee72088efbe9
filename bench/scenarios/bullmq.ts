import { join } from 'node:path';
import type { WriteResults } from '../load/writer.js';
import { graphqlPost } from '../lib/graphql.js';
import { forkLoad, type LoadProcess } from '../lib/processes.js';
import { measureCpu, percentOfCore } from '../lib/procfs.js';
import { quiesce } from '../lib/quiesce.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, startRedis } from '../lib/servers.js';
import { median, percentile } from '../lib/stats.js';
import { openSubscribers, type SubscriberPool } from '../lib/subscribers.js';
import { TASK_UPDATED } from '../lib/targets.js';

/** Tasks (and jobs) the progress events rotate over. */
const STREAMS = 50;
const QUEUE = 'bench-progress';
const COLLECT_TIMEOUT_MS = 30_000;
const WARM_UP_EVENTS = 200;
/**
 * The send time travels in the message, as a variable: the document stays the same for every
 * event, as a real client's does (a literal in the query text would make each event a new
 * document for the server to parse and validate).
 */
const PROGRESS = graphqlPost('mutation Progress($id: ID!, $sentAt: String!) { reportProgress(id: $id, progress: 50, message: $sentAt) { revision } }', {
  id: '@@id@@',
  sentAt: '@@sentAt@@',
});

/** One round of one side: each event's latency from the producer's call to the listener, in ms. */
interface ProgressRound {
  latencies: number[];
  /** Events sent but not received (ours conflates: a slow subscriber skips to the latest). */
  missing: number;
}

/** A round with the CPU the event broker (our server, or redis-server) used meanwhile, in % of a core. */
interface MeasuredRound extends ProgressRound {
  brokerCpuPercent: number;
}

async function measured(brokerPid: number, round: () => Promise<ProgressRound>): Promise<MeasuredRound> {
  await quiesce();
  const { result, cpuNs, wallMs } = await measureCpu(brokerPid, round);
  return { ...result, brokerCpuPercent: percentOfCore(cpuNs, wallMs) };
}

interface OursSetup {
  pool: SubscriberPool;
  writer: LoadProcess;
  port: number;
  ids: string[];
}

async function oursRound({ pool, writer, port, ids }: OursSetup, events: number, rate: number): Promise<ProgressRound> {
  await pool.mark();
  const sequence = Array.from({ length: events }, (_, i) => ids[i % ids.length]!);
  const writes = await writer.call<WriteResults>('run', { port, template: PROGRESS, ids: sequence, ratePerSecond: rate });
  if (writes.failed > 0) throw new Error(`reportProgress failed: ${writes.failures.join('; ')}`);
  const received = await pool.collect(events / ids.length, COLLECT_TIMEOUT_MS);
  const latencies = received.arrivedAt.map((arrivedAt, i) => arrivedAt - Number(received.message[i]));
  return { latencies, missing: events - latencies.length };
}

async function bullmqRound(producer: LoadProcess, listener: LoadProcess, events: number, rate: number): Promise<ProgressRound> {
  await listener.call('mark');
  const { failed } = await producer.call<{ failed: number }>('run', { events, ratePerSecond: rate });
  if (failed > 0) throw new Error(`${failed} updateProgress calls failed`);
  const latencies = await listener.call<number[]>('collect', { count: events, timeoutMs: COLLECT_TIMEOUT_MS });
  return { latencies, missing: events - latencies.length };
}

/**
 * 4. Against BullMQ: `job.updateProgress` → a QueueEvents listener (local redis-server),
 * against our `reportProgress` → a `taskUpdated` subscriber, at the same rate; latency from
 * the producer's call to the listener, measured the same way on both sides.
 */
export const bullmq: Scenario = {
  name: 'bullmq',
  title: '4. Against BullMQ: progress event latency, updateProgress → QueueEvents vs reportProgress → taskUpdated',
  async run({ settings, dir, log }) {
    const { rounds, progressEvents, eventsPerSecond } = settings;
    const database = join(dir, 'bullmq.db');
    const ids = seedDatabase(database, { live: { status: 'RUNNING', count: STREAMS } }).liveIds;
    const [redis, api, writer, subscriberLoad, producer, listener] = await Promise.all([
      startRedis(join(dir, 'redis')),
      startApiServer({ DATABASE_URL: database, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      forkLoad('writer.ts'),
      forkLoad('subscribers.ts'),
      forkLoad('bullmq-producer.ts'),
      forkLoad('bullmq-listener.ts'),
    ]);
    try {
      await producer.call('setup', { port: redis.port, name: QUEUE, jobCount: STREAMS });
      await listener.call('start', { port: redis.port, name: QUEUE });
      const pool = await openSubscribers([subscriberLoad], api.wsUrl, ids, TASK_UPDATED);
      const ours: OursSetup = { pool, writer, port: api.port, ids };
      await measured(api.pid, () => oursRound(ours, WARM_UP_EVENTS, eventsPerSecond));
      await measured(redis.pid, () => bullmqRound(producer, listener, WARM_UP_EVENTS, eventsPerSecond));

      const results = { ours: [] as MeasuredRound[], bullmq: [] as MeasuredRound[] };
      for (let round = 1; round <= rounds; round++) {
        results.ours.push(await measured(api.pid, () => oursRound(ours, progressEvents, eventsPerSecond)));
        results.bullmq.push(await measured(redis.pid, () => bullmqRound(producer, listener, progressEvents, eventsPerSecond)));
        const p99 = (side: 'ours' | 'bullmq') => percentile(results[side].at(-1)!.latencies, 99).toFixed(2);
        log(`round ${round}/${rounds}: p99 ${p99('ours')} vs ${p99('bullmq')} ms`);
      }
      await Promise.all([pool.close(), producer.call('close'), listener.call('close')]);

      const per = (side: 'ours' | 'bullmq', q: number) => results[side].map((r) => percentile(r.latencies, q));
      const missing = (side: 'ours' | 'bullmq') => results[side].reduce((sum, r) => sum + r.missing, 0);
      const brokerCpu = (side: 'ours' | 'bullmq') => median(results[side].map((r) => r.brokerCpuPercent)).toFixed(0);
      const label = `vs BullMQ, ${eventsPerSecond.toLocaleString('en-US')}/s over ${STREAMS} tasks`;
      return {
        rows: [
          row({ scenario: `${label}: progress event p50`, unit: 'ms', ours: per('ours', 50), baseline: { label: 'BullMQ', values: per('bullmq', 50) } }),
          row({
            scenario: `${label}: progress event p99`,
            unit: 'ms',
            ours: per('ours', 99),
            baseline: { label: 'BullMQ', values: per('bullmq', 99) },
            goal: { text: '< 1× (lower)', met: (_, ratio) => ratio < 1 },
          }),
        ],
        notes: [
          `${progressEvents} events per round, paced at ${eventsPerSecond.toLocaleString('en-US')}/s round-robin over ${STREAMS} tasks ` +
            '(ours: reportProgress over HTTP, SQLITE_SYNCHRONOUS=NORMAL, one graphql-ws subscriber per task) ' +
            `or ${STREAMS} jobs (BullMQ: job.updateProgress, one QueueEvents listener; redis-server without persistence). ` +
            'Latency = arrival at the listener − when the producer made the call (the time travels in the event). ' +
            `Events not received: ours ${missing('ours')}, BullMQ ${missing('bullmq')}. ` +
            `Broker CPU during the rounds (median): our server ${brokerCpu('ours')} %, redis-server ${brokerCpu('bullmq')} % of a core.`,
        ],
        details: { ours: results.ours.map(summarize), bullmq: results.bullmq.map(summarize) },
      };
    } finally {
      await redis.stop();
    }
  },
};

function summarize({ latencies, missing, brokerCpuPercent }: MeasuredRound) {
  const [p50, p99, max] = [50, 99, 100].map((q) => percentile(latencies, q));
  return { p50, p99, max, n: latencies.length, missing, brokerCpuPercent };
}
