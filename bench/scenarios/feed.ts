import { join } from 'node:path';
import type { WriteResults } from '../load/writer.js';
import { wallNow } from '../lib/clock.js';
import { awaitCount, gather, judge, withRssPeak, type DeliveryRound } from '../lib/deliveries.js';
import { gql, graphqlPost } from '../lib/graphql.js';
import { forkLoad, forkLoads, type LoadProcess } from '../lib/processes.js';
import { measureCpu, percentOfCore } from '../lib/procfs.js';
import { quiesce } from '../lib/quiesce.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, type Server } from '../lib/servers.js';
import { median, percentile } from '../lib/stats.js';

const KINDS = Array.from({ length: 100 }, (_, k) => `k${k}`);
/** Subscribers and long-poll waiters per kind. */
const PER_KIND = 10;
const RATE = 500;
const COLLECT_TIMEOUT_MS = 30_000;
/** Feed subscribers of other kinds for the filter-cost rows, and the writes per round there. */
const CROWD = 10_000;
const FILTER_RATE = 200;
const CATCH_UP = 100_000;

/** A created task is a change; its input carries the send time. */
const CREATE = graphqlPost('mutation Create($kind: String!, $s: String!) { createTask(kind: $kind, input: { s: $s }) { id } }', {
  kind: '@@id@@',
  s: '@@sentAt@@',
});
const PROGRESS = graphqlPost('mutation Progress($id: ID!, $s: String!) { reportProgress(id: $id, progress: 50, message: $s) { revision } }', {
  id: '@@id@@',
  s: '@@sentAt@@',
});
const FEED = 'subscription Feed($kinds: [String!], $after: String) { taskChanges(filter: { kinds: $kinds }, after: $after) { cursor task { id input } } }';
const CATCH_UP_FEED = 'subscription Feed($after: String) { taskChanges(after: $after) { cursor task { id } } }';
const UPDATED = 'subscription Follow($id: ID!) { taskUpdated(id: $id) { revision message } }';

async function feedPosition(server: Server): Promise<string> {
  const data = await gql<{ tasks: { changesCursor: string } }>(server.url, '{ tasks(first: 1) { changesCursor } }');
  return data.tasks.changesCursor;
}

/** Writes not answered within the writer's minute (an overloaded server) are counted, not fatal: they are part of the measurement. */
let unanswered = 0;

async function write(writer: LoadProcess, server: Server, template: typeof CREATE, ids: string[], rate: number): Promise<WriteResults> {
  const results = await writer.call<WriteResults>('run', { port: server.port, template, ids, ratePerSecond: rate });
  const refused = results.failures.filter((failure) => failure !== '');
  if (refused.length > 0) throw new Error(`writes failed: ${refused.join('; ')}`);
  unanswered += results.failed;
  return results;
}

/** One paced burst of writes and what reached its receivers. */
async function deliveryRound(
  writer: LoadProcess,
  server: Server,
  template: typeof CREATE,
  ids: string[],
  receivers: { load: LoadProcess; receivers: number }[],
  perWrite: number,
  expectedItems: number,
): Promise<DeliveryRound> {
  await quiesce();
  await Promise.all(receivers.map(({ load }) => load.call('mark')));
  const since = wallNow();
  const loads = receivers.map(({ load }) => load);
  const { cpuNs, wallMs } = await measureCpu(server.pid, async () => {
    await write(writer, server, template, ids, RATE);
    await awaitCount(loads, expectedItems, COLLECT_TIMEOUT_MS);
    await settle(loads);
  });
  return { ...judge(await gather(receivers), ids.length, perWrite, since), serverCpuPercent: percentOfCore(cpuNs, wallMs) };
}

/** Write latency (send → answer) p50 of paced createTask calls, in ms. */
async function writeLatency(writer: LoadProcess, server: Server, kind: string, count: number): Promise<number> {
  await quiesce();
  const { sentAt, answeredAt } = await write(writer, server, CREATE, Array<string>(count).fill(kind), FILTER_RATE);
  return percentile(
    answeredAt.map((answered, i) => answered - sentAt[i]!).filter((ms) => !Number.isNaN(ms)),
    50,
  );
}

/**
 * Change feeds: wake-up latency of feed subscribers and `awaitTaskChanges` waiters against
 * `taskUpdated`; catch-up of a subscriber 100,000 changes behind; what 10,000 subscribers of
 * other kinds cost a write.
 */
export const feed: Scenario = {
  name: 'feed',
  title: 'Change feeds: wake (subscribers and long-polls vs taskUpdated), catch-up, filter cost',
  async run({ settings, dir, log }) {
    const { rounds, quick } = settings;
    unanswered = 0;
    const writes = quick ? 500 : 1_000;
    const crowd = quick ? 2_000 : CROWD;
    const database = join(dir, 'feed.db');
    seedDatabase(database, { live: { status: 'QUEUED', count: CATCH_UP + 1 } });
    const [hot] = seedDatabase(database, { live: { status: 'RUNNING', count: 1 } }).liveIds as [string];
    const emptyDatabase = join(dir, 'feed-empty.db');
    seedDatabase(emptyDatabase, {});
    const env = { SQLITE_SYNCHRONOUS: 'NORMAL' };
    const [api, empty, writer, subscribers, waiters, baseline, catchUp, crowdLoads] = await Promise.all([
      startApiServer({ ...env, DATABASE_URL: database }),
      startApiServer({ ...env, DATABASE_URL: emptyDatabase }),
      forkLoad('writer.ts'),
      forkLoad('stream-clients.ts'),
      forkLoad('stream-clients.ts'),
      forkLoad('stream-clients.ts'),
      forkLoad('stream-clients.ts'),
      forkLoads('stream-clients.ts', Math.ceil(crowd / 5_000)),
    ]);

    log(`catch-up: ${CATCH_UP.toLocaleString('en-US')} changes behind, ${rounds} rounds`);
    const first = await gql<{ taskChanges: { cursor: string } }>(api.url, '{ taskChanges(first: 1) { cursor } }');
    const catchUps: { perSecond: number; rssGrowthMiB: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      await quiesce();
      await catchUp.call('mark');
      const start = wallNow();
      const { result, rssGrowthMiB } = await withRssPeak(api.pid, async () => {
        await catchUp.call('subscribe', { url: api.wsUrl, query: CATCH_UP_FEED, variables: [{ after: first.taskChanges.cursor }], record: false });
        await awaitCount([catchUp], CATCH_UP, 120_000);
        return catchUp.call<{ count: number; lastArrival: number }>('count');
      });
      await catchUp.call('close');
      if (result.count < CATCH_UP) throw new Error(`catch-up received ${result.count} of ${CATCH_UP} changes`);
      catchUps.push({ perSecond: CATCH_UP / ((result.lastArrival - start) / 1_000), rssGrowthMiB });
      log(`catch-up round ${round + 1}: ${catchUps.at(-1)!.perSecond.toFixed(0)} changes/s, RSS +${rssGrowthMiB.toFixed(1)} MiB`);
    }

    log(`wake: ${KINDS.length * PER_KIND} subscribers and ${KINDS.length * PER_KIND} long-polls over ${KINDS.length} kinds; ${PER_KIND} taskUpdated subscribers`);
    const perKind = KINDS.flatMap((kind) => Array<string>(PER_KIND).fill(kind));
    await subscribers.call('subscribe', { url: api.wsUrl, query: FEED, variables: perKind.map((kind) => ({ kinds: [kind] })), record: true });
    await waiters.call('poll', { port: api.port, kinds: perKind.map((kind) => [kind]), cursor: await feedPosition(api) });
    await baseline.call('subscribe', { url: api.wsUrl, query: UPDATED, variables: Array.from({ length: PER_KIND }, () => ({ id: hot })), record: true });
    const feedReceivers = [
      { load: subscribers, receivers: perKind.length },
      { load: waiters, receivers: perKind.length },
    ];
    const sequence = (count: number) => Array.from({ length: count }, (_, i) => KINDS[i % KINDS.length]!);
    // Unmeasured: every subscriber and waiter hears one change, every taskUpdated subscriber one.
    await deliveryRound(writer, api, CREATE, sequence(KINDS.length), feedReceivers, 2 * PER_KIND, KINDS.length * PER_KIND);
    await deliveryRound(writer, api, PROGRESS, Array<string>(RATE).fill(hot), [{ load: baseline, receivers: PER_KIND }], PER_KIND, RATE * PER_KIND);
    const wake = { feed: [] as DeliveryRound[], taskUpdated: [] as DeliveryRound[] };
    for (let round = 1; round <= rounds; round++) {
      wake.feed.push(await deliveryRound(writer, api, CREATE, sequence(writes), feedReceivers, 2 * PER_KIND, writes * PER_KIND));
      wake.taskUpdated.push(await deliveryRound(writer, api, PROGRESS, Array<string>(writes).fill(hot), [{ load: baseline, receivers: PER_KIND }], PER_KIND, writes * PER_KIND));
      log(`wake round ${round}/${rounds}: feed p50 ${wake.feed.at(-1)!.p50.toFixed(2)} p99 ${wake.feed.at(-1)!.p99.toFixed(2)} ms, lost ${wake.feed.at(-1)!.lost}; taskUpdated p50 ${wake.taskUpdated.at(-1)!.p50.toFixed(2)} ms`);
    }
    const pollErrors = await waiters.call<number>('stopPolls');
    await Promise.all([subscribers.call('close'), baseline.call('close'), waiters.call('close')]);

    log(`filter cost: ${crowd.toLocaleString('en-US')} subscribers of other kinds vs none`);
    const crowdKinds = Array.from({ length: crowd }, (_, i) => ({ kinds: [`other${i % 1_000}`] }));
    for (const [k, load] of crowdLoads.entries()) {
      await load.call('subscribe', { url: api.wsUrl, query: FEED, variables: crowdKinds.slice(k * 5_000, (k + 1) * 5_000), record: false });
    }
    const filterWrites = quick ? 200 : 600;
    await writeLatency(writer, api, 'measured', filterWrites);
    await writeLatency(writer, empty, 'measured', filterWrites);
    const filter = { crowded: [] as number[], empty: [] as number[] };
    for (let round = 1; round <= rounds; round++) {
      filter.crowded.push(await writeLatency(writer, api, 'measured', filterWrites));
      filter.empty.push(await writeLatency(writer, empty, 'measured', filterWrites));
      log(`filter round ${round}/${rounds}: ${filter.crowded.at(-1)!.toFixed(2)} vs ${filter.empty.at(-1)!.toFixed(2)} ms`);
    }
    const crowdDelivered = (await Promise.all(crowdLoads.map((load) => load.call<{ count: number }>('count')))).reduce((sum, { count }) => sum + count, 0);

    const cpu = (rounds: DeliveryRound[]) => median(rounds.map((r) => r.serverCpuPercent!)).toFixed(0);
    const lost = wake.feed.reduce((sum, r) => sum + r.lost, 0);
    const baselineLost = wake.taskUpdated.reduce((sum, r) => sum + r.lost, 0);
    const label = `Feed, ${(KINDS.length * PER_KIND).toLocaleString('en-US')} subscribers + ${(KINDS.length * PER_KIND).toLocaleString('en-US')} long-polls over ${KINDS.length} kinds, ${RATE}/s`;
    return {
      rows: [
        row({
          scenario: `${label}: send → last holder p50`,
          unit: 'ms',
          ours: wake.feed.map((r) => r.p50),
          baseline: { label: `taskUpdated (${PER_KIND} subscribers, one task)`, values: wake.taskUpdated.map((r) => r.p50) },
          goal: { text: '≤ 2 ms; ≤ 1.5× taskUpdated', met: (ours, ratio) => ours <= 2 && ratio <= 1.5 },
        }),
        row({
          scenario: `${label}: send → last holder p99`,
          unit: 'ms',
          ours: wake.feed.map((r) => r.p99),
          baseline: { label: 'taskUpdated', values: wake.taskUpdated.map((r) => r.p99) },
          goal: { text: '≤ 10 ms', met: (ours) => ours <= 10 },
        }),
        row({ scenario: `${label}: deliveries lost per round`, unit: '', ours: wake.feed.map((r) => r.lost), goal: { text: '0', met: () => lost === 0 } }),
        row({
          scenario: `Feed catch-up, ${CATCH_UP.toLocaleString('en-US')} changes behind: changes/s`,
          unit: 'updates/s',
          ours: catchUps.map((r) => r.perSecond),
          goal: { text: '≥ 50,000/s', met: (ours) => ours >= 50_000 },
        }),
        row({
          scenario: 'Feed catch-up: server RSS growth (peak)',
          unit: 'MiB',
          ours: catchUps.map((r) => r.rssGrowthMiB),
          goal: { text: '< 50 MB', met: (ours) => ours * 2 ** 20 < 50e6 },
        }),
        row({
          scenario: `Feed filter cost: createTask p50 with ${crowd.toLocaleString('en-US')} feed subscribers of other kinds`,
          unit: 'ms',
          ours: filter.crowded,
          baseline: { label: 'no subscribers', values: filter.empty },
          goal: { text: '≤ 1.1×', met: (_, ratio) => ratio <= 1.1 },
        }),
      ],
      notes: [
        `Wake: ${writes} createTask per round paced at ${RATE}/s over ${KINDS.length} kinds (a creation is a change; its input carries the send time); ` +
          `each kind has ${PER_KIND} graphql-ws subscribers (taskChanges, filter by kind) and ${PER_KIND} awaitTaskChanges long-polls (HTTP, re-issued from ` +
          "the answer's cursor), so each write is expected at 20 receivers; latency runs from the write's send to the last of them. " +
          `Baseline in the same rounds: reportProgress on one task paced at ${RATE}/s, ${PER_KIND} taskUpdated subscribers. SQLITE_SYNCHRONOUS=NORMAL. ` +
          `Lost: feed ${lost}, taskUpdated ${baselineLost} (taskUpdated may conflate by design); long-poll errors ${pollErrors}; writes unanswered after a minute ${unanswered}. ` +
          `Server CPU over the rounds (median): feed ${cpu(wake.feed)} %, taskUpdated ${cpu(wake.taskUpdated)} % of a core.`,
        `Catch-up: ${CATCH_UP.toLocaleString('en-US')} tasks seeded before the server started (one change each); a new subscription from the first change's cursor, ` +
          'changes/s from its subscribe to the last frame; RSS growth = peak RSS (sampled every 20 ms) − RSS before.',
        `Filter cost: ${filterWrites} createTask per round paced at ${FILTER_RATE}/s (send → answer p50), on the scenario's server with ` +
          `${crowd.toLocaleString('en-US')} taskChanges subscribers filtering on 1,000 other kinds vs a second server with none (same build and settings). ` +
          `Deliveries to those subscribers: ${crowdDelivered} (expected 0).`,
      ],
      details: { catchUps, wake, filter },
    };
  },
};

/**
 * A long-poll answer may carry several changes and counts once, so the count awaited is only
 * the subscribers' frames: then wait until nothing more arrives for 500 ms.
 */
async function settle(loads: LoadProcess[]): Promise<void> {
  let previous = -1;
  for (;;) {
    const now = (await Promise.all(loads.map((load) => load.call<{ count: number }>('count')))).reduce((sum, { count }) => sum + count, 0);
    if (now === previous) return;
    previous = now;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
