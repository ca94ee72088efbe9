import { join } from 'node:path';
import { seedSqliteOutput } from '../../src/storage/seed.js';
import type { WriteResults } from '../load/writer.js';
import { wallNow } from '../lib/clock.js';
import { awaitCount, gather, judge, withRssPeak, type DeliveryRound } from '../lib/deliveries.js';
import { gql, graphqlPost } from '../lib/graphql.js';
import { measureHttp, warmUp, type HttpMeasurement } from '../lib/http-bench.js';
import { forkLoad, type LoadProcess } from '../lib/processes.js';
import { measureCpu, percentOfCore } from '../lib/procfs.js';
import { quiesce } from '../lib/quiesce.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, type Server } from '../lib/servers.js';
import { median } from '../lib/stats.js';

const CHUNK_BYTES = 1_024;
const CONNECTIONS = 50;
const SUBSCRIBERS = 100;
const RATE = 1_000;
const CATCH_UP = 100_000;
const COLLECT_TIMEOUT_MS = 30_000;
/** The seeded tasks' worker (bench/lib/seed.ts), which holds their leases. */
const WORKER = 'bench-worker';

const append = (id: string, data: string) =>
  graphqlPost(`mutation Append($id: ID!, $data: String!) { appendTaskOutput(id: $id, data: $data, workerId: "${WORKER}") }`, { id, data });
const progress = (id: string) =>
  graphqlPost('mutation Progress($id: ID!) { reportProgress(id: $id, progress: 50) { id progress revision updatedAt } }', { id });
const OUTPUT = 'subscription Output($id: ID!, $after: Int) { taskOutput(id: $id, after: $after) { seq data } }';

async function outputSeq(server: Server, id: string): Promise<number> {
  return (await gql<{ task: { outputSeq: number } }>(server.url, `{ task(id: ${JSON.stringify(id)}) { outputSeq } }`)).task.outputSeq;
}

async function deliveryRound(writer: LoadProcess, clients: LoadProcess, server: Server, id: string, chunks: number): Promise<DeliveryRound> {
  await quiesce();
  await clients.call('mark');
  const since = wallNow();
  const template = append(id, `@@sentAt@@ ${'x'.repeat(CHUNK_BYTES - 20)}`);
  const { cpuNs, wallMs } = await measureCpu(server.pid, async () => {
    const results = await writer.call<WriteResults>('run', { port: server.port, template, ids: Array<string>(chunks).fill(id), ratePerSecond: RATE });
    if (results.failed > 0) throw new Error(`appends failed: ${results.failures.join('; ')}`);
    await awaitCount([clients], chunks * SUBSCRIBERS, COLLECT_TIMEOUT_MS);
  });
  return { ...judge(await gather([{ load: clients, receivers: SUBSCRIBERS }]), chunks, SUBSCRIBERS, since), serverCpuPercent: percentOfCore(cpuNs, wallMs) };
}

/**
 * Task output: append throughput over HTTP against reportProgress (FULL); delivery of
 * 1,000 chunks/s to 100 `taskOutput` subscribers; catch-up of a subscriber 100,000 chunks behind.
 */
export const output: Scenario = {
  name: 'output',
  title: 'Task output: append throughput vs reportProgress, delivery to 100 subscribers, catch-up',
  async run({ settings, dir, log }) {
    const { rounds, quick } = settings;
    const chunks = quick ? 1_000 : 3_000;
    const fullDatabase = join(dir, 'output-full.db');
    const [appended, progressed] = seedDatabase(fullDatabase, { live: { status: 'RUNNING', count: 2 } }).liveIds as [string, string];
    const normalDatabase = join(dir, 'output-normal.db');
    const [followed, behind] = seedDatabase(normalDatabase, { live: { status: 'RUNNING', count: 2 } }).liveIds as [string, string];
    seedSqliteOutput(normalDatabase, { taskId: behind, chunks: CATCH_UP, chunkBytes: CHUNK_BYTES, at: new Date() });
    const env = { MAX_OUTPUT_BYTES_PER_TASK: String(1e12) };
    const [full, normal, load, writer, clients, catchUp] = await Promise.all([
      startApiServer({ ...env, DATABASE_URL: fullDatabase, SQLITE_SYNCHRONOUS: 'FULL' }),
      startApiServer({ ...env, DATABASE_URL: normalDatabase, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      forkLoad('http-load.ts'),
      forkLoad('writer.ts'),
      forkLoad('stream-clients.ts'),
      forkLoad('stream-clients.ts'),
    ]);

    log(`append throughput: ${CONNECTIONS} connections, ${CHUNK_BYTES} B chunks vs reportProgress, SQLITE_SYNCHRONOUS=FULL`);
    const http = { ...settings, connections: CONNECTIONS };
    const appendRequests = [append(appended, 'x'.repeat(CHUNK_BYTES))];
    const progressRequests = [progress(progressed)];
    await warmUp(load, [{ server: full, requests: appendRequests }, { server: full, requests: progressRequests }], http);
    const seqBefore = await outputSeq(full, appended);
    const throughput = { append: [] as HttpMeasurement[], progress: [] as HttpMeasurement[] };
    for (let round = 1; round <= rounds; round++) {
      throughput.append.push(await measureHttp(load, full, appendRequests, http));
      throughput.progress.push(await measureHttp(load, full, progressRequests, http));
      log(`throughput round ${round}/${rounds}: ${throughput.append.at(-1)!.throughput.toFixed(0)} appends/s vs ${throughput.progress.at(-1)!.throughput.toFixed(0)} progress/s`);
    }
    const appendedOk = throughput.append.reduce((sum, m) => sum + m.ok, 0);
    const committed = (await outputSeq(full, appended)) - seqBefore;
    const failed = [...throughput.append, ...throughput.progress].reduce((sum, m) => sum + m.failed, 0);

    log(`delivery: ${SUBSCRIBERS} taskOutput subscribers, ${RATE} chunks/s`);
    await clients.call('subscribe', { url: normal.wsUrl, query: OUTPUT, variables: Array.from({ length: SUBSCRIBERS }, () => ({ id: followed, after: 0 })), record: true });
    await deliveryRound(writer, clients, normal, followed, 10);
    const delivery: DeliveryRound[] = [];
    for (let round = 1; round <= rounds; round++) {
      delivery.push(await deliveryRound(writer, clients, normal, followed, chunks));
      const last = delivery.at(-1)!;
      log(`delivery round ${round}/${rounds}: p50 ${last.p50.toFixed(2)} p99 ${last.p99.toFixed(2)} ms, lost ${last.lost}, reordered ${last.reordered}`);
    }
    await clients.call('close');

    log(`catch-up: ${CATCH_UP.toLocaleString('en-US')} chunks behind`);
    const catchUps: { perSecond: number; rssGrowthMiB: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      await quiesce();
      await catchUp.call('mark');
      const start = wallNow();
      const { result, rssGrowthMiB } = await withRssPeak(normal.pid, async () => {
        await catchUp.call('subscribe', { url: normal.wsUrl, query: OUTPUT, variables: [{ id: behind, after: 0 }], record: false });
        await awaitCount([catchUp], CATCH_UP, 120_000);
        return catchUp.call<{ count: number; lastArrival: number }>('count');
      });
      await catchUp.call('close');
      if (result.count < CATCH_UP) throw new Error(`catch-up received ${result.count} of ${CATCH_UP} chunks`);
      catchUps.push({ perSecond: CATCH_UP / ((result.lastArrival - start) / 1_000), rssGrowthMiB });
      log(`catch-up round ${round}/${rounds}: ${catchUps.at(-1)!.perSecond.toFixed(0)} chunks/s, RSS +${rssGrowthMiB.toFixed(1)} MiB`);
    }

    const lost = delivery.reduce((sum, r) => sum + r.lost, 0);
    const reordered = delivery.reduce((sum, r) => sum + r.reordered, 0);
    const label = `Output delivery, ${SUBSCRIBERS} taskOutput subscribers of one task, ${RATE.toLocaleString('en-US')} chunks/s`;
    return {
      rows: [
        row({
          scenario: `appendTaskOutput over HTTP, ${CHUNK_BYTES} B chunks, one task, ${CONNECTIONS} connections, FULL`,
          unit: 'req/s',
          ours: throughput.append.map((m) => m.throughput),
          baseline: { label: 'reportProgress', values: throughput.progress.map((m) => m.throughput) },
          goal: { text: '≥ 0.8× reportProgress', met: (_, ratio) => ratio >= 0.8 },
        }),
        row({ scenario: `${label}: send → last subscriber p50`, unit: 'ms', ours: delivery.map((r) => r.p50), goal: { text: '≤ 2 ms', met: (ours) => ours <= 2 } }),
        row({ scenario: `${label}: send → last subscriber p99`, unit: 'ms', ours: delivery.map((r) => r.p99), goal: { text: '≤ 10 ms', met: (ours) => ours <= 10 } }),
        row({ scenario: `${label}: lost + reordered per round`, unit: '', ours: delivery.map((r) => r.lost + r.reordered), goal: { text: '0', met: () => lost + reordered === 0 } }),
        row({
          scenario: `Output catch-up, ${CATCH_UP.toLocaleString('en-US')} chunks (${CHUNK_BYTES} B) behind: chunks/s`,
          unit: 'updates/s',
          ours: catchUps.map((r) => r.perSecond),
          goal: { text: '≥ 100,000/s', met: (ours) => ours >= 100_000 },
        }),
        row({
          scenario: 'Output catch-up: server RSS growth (peak)',
          unit: 'MiB',
          ours: catchUps.map((r) => r.rssGrowthMiB),
          goal: { text: '< 50 MB', met: (ours) => ours * 2 ** 20 < 50e6 },
        }),
      ],
      notes: [
        `Throughput: autocannon, ${CONNECTIONS} connections, closed loop, appendTaskOutput of ${CHUNK_BYTES} B to one RUNNING task vs reportProgress on another, ` +
          `same server (SQLITE_SYNCHRONOUS=FULL), in turns. Appends answered 2xx: ${appendedOk}; chunks committed meanwhile: ${committed}` +
          ` (warm-up excluded); non-2xx or errors: ${failed}.`,
        `Delivery: ${chunks} appends per round paced at ${RATE}/s (the chunk's data starts with its send time), server SQLITE_SYNCHRONOUS=NORMAL; ` +
          `latency from the send to the last of the ${SUBSCRIBERS} subscribers. Lost ${lost}, reordered ${reordered} over all rounds. ` +
          `Server CPU from the first append to the last delivery (median): ${median(delivery.map((r) => r.serverCpuPercent!)).toFixed(0)} % of a core.`,
        `Catch-up: ${CATCH_UP.toLocaleString('en-US')} chunks seeded before the server started; a new taskOutput(after: 0) subscription per round, ` +
          'chunks/s from its subscribe to the last frame; RSS growth = peak RSS (sampled every 20 ms) − RSS before.',
      ],
      details: { throughput, delivery, catchUps },
    };
  },
};
