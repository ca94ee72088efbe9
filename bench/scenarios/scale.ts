import { join } from 'node:path';
import type { HttpLoadResultWithLatencies } from '../load/http-load.js';
import type { WriteResults } from '../load/writer.js';
import { chunk } from '../lib/arrays.js';
import { gqlRaw, graphqlPost, TASK_FIELDS } from '../lib/graphql.js';
import { startPostgres, type PostgresServer } from '../lib/postgres.js';
import { cpuTimeNs, measureCpuWith } from '../lib/procfs.js';
import { forkLoad, forkLoads, type LoadProcess } from '../lib/processes.js';
import { quiesce } from '../lib/quiesce.js';
import type { RequestTemplate } from '../lib/raw-http.js';
import { row, type Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase, seedPostgres } from '../lib/seed.js';
import { startApiServer, type Server } from '../lib/servers.js';
import type { Settings } from '../lib/settings.js';
import { median, pairedRatios, percentile, summarize } from '../lib/stats.js';
import { apiLongPolls } from '../lib/targets.js';
import { COMMIT_TO_RESPONSE_NOTE, holdersForSpread, spreadWakeRound, type SpreadWakeRound, type Timings } from '../lib/wake.js';

const READ_QUERY = `query Read($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;
/** Instance counts on PostgreSQL. */
const COUNTS = [1, 2, 3] as const;

/** One configuration under test: an engine, a database of its own, and its instances. */
interface Setup {
  key: string;
  label: string;
  instances: Server[];
  /** The task every read asks for. */
  readId: string;
  /** Tasks to complete, `waiters` per round. */
  liveIds: string[];
  /** Tasks to complete in bursts, `burst` per round. */
  burstIds: string[];
  /** CPU used so far, in ns, by the service's processes and by the database server (0 for SQLite, which runs inside the service). */
  cpuNs(): { service: number; database: number };
}

interface ReadMeasurement {
  /** 2xx responses per second, summed over the instances. */
  throughput: number;
  perInstance: number[];
  /** Over every response of every instance, in ms. */
  p50: number;
  p99: number;
  /** Service (and database server) CPU per answered request, in µs. */
  cpuPerRequestUs: number;
  failed: number;
}

const totalCpuNs = (setup: Setup) => {
  const { service, database } = setup.cpuNs();
  return service + database;
};

/** `total` connections split as evenly as possible over `parts`. */
const splitCount = (total: number, parts: number) => Array.from({ length: parts }, (_, k) => Math.floor(total / parts) + (k < total % parts ? 1 : 0));

/**
 * Closed-loop reads on every instance of `setup` at once, one autocannon load process per
 * instance, the run's connections split over them; the server CPU is every service process's
 * plus the database server's.
 */
async function measureRead(setup: Setup, loads: LoadProcess[], request: RequestTemplate, settings: Settings, seconds: number): Promise<ReadMeasurement> {
  await quiesce();
  const connections = splitCount(settings.connections, setup.instances.length);
  const { result, cpuNs } = await measureCpuWith(() => totalCpuNs(setup), () =>
    Promise.all(
      setup.instances.map((server, k) =>
        loads[k]!.call<HttpLoadResultWithLatencies>('run', { url: server.url, requests: [request], connections: connections[k], durationSeconds: seconds, keepLatencies: true }),
      ),
    ),
  );
  const latencies = result.flatMap((r) => r.latencies ?? []);
  const ok = result.reduce((sum, r) => sum + r.ok, 0);
  return {
    throughput: result.reduce((sum, r) => sum + r.throughput, 0),
    perInstance: result.map((r) => r.throughput),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuPerRequestUs: cpuNs / 1_000 / Math.max(1, ok),
    failed: result.reduce((sum, r) => sum + r.failed, 0),
  };
}

/** Warnings every bench server logs by design (it runs without API keys). */
const EXPECTED_SERVER_WARNINGS = ['no API keys are configured'];
/** The readiness probe's connection attempts before the server accepts them. */
const EXPECTED_POSTGRES_LINES = ['the database system is starting up'];

/** The lines that are none of the expected ones (`first` lists all the lines that were kept, expected ones included). */
function unexpected({ count, first }: { count: number; first: string[] }, expected: readonly string[]) {
  const isExpected = (line: string) => expected.some((text) => line.includes(text));
  const kept = first.filter((line) => !isExpected(line));
  return { count: count - (first.length - kept.length), first: kept.slice(0, 10) };
}

interface BurstMeasurement {
  /** Completions answered per second, from the first send to the last answer. */
  throughput: number;
  /** Service (and database server) CPU per completion, in µs. */
  cpuPerWriteUs: number;
  failed: number;
}

/** `ids.length` completeTask mutations sent at once to the first instance (over the writer's 32 keep-alive connections). */
async function measureBurst(setup: Setup, writer: LoadProcess, ids: string[]): Promise<BurstMeasurement> {
  await quiesce();
  const target = apiLongPolls(setup.instances[0]!);
  const { result, cpuNs } = await measureCpuWith(() => totalCpuNs(setup), () =>
    writer.call<WriteResults>('run', { port: target.server.port, template: target.complete, ids, ratePerSecond: Infinity }),
  );
  const first = Math.min(...result.sentAt);
  const last = Math.max(...result.answeredAt.filter((at) => !Number.isNaN(at)));
  return { throughput: ids.length / ((last - first) / 1000), cpuPerWriteUs: cpuNs / 1_000 / ids.length, failed: result.failed };
}

const fmt = (value: number, digits = 2) => value.toFixed(digits);

/** The waiters held on the writing instance (the first), and those on the others, merged. */
function writerAndOthers(round: SpreadWakeRound): { writer: Timings; others: number[] } {
  const [writer, ...rest] = round.byInstance;
  return { writer: writer!, others: rest.flatMap((t) => t.commitToResponseMs) };
}

/**
 * 9. The service on one PostgreSQL database with 1, 2 and 3 instances (separate server
 * processes, each its own port, one DATABASE_URL), against 1 instance on SQLite: read
 * throughput over all instances, and wake latency when the waiters are spread over the
 * instances and every write goes to one of them.
 */
export const scale: Scenario = {
  name: 'scale',
  title: '9. Scale: 1, 2 and 3 instances on one PostgreSQL vs 1 on SQLite (reads; wakes across instances)',
  async run({ settings, dir, log }) {
    const { rounds, scaleEventsPerSecond: eventsPerSecond, scaleWaiters: waiters, scaleWaitersPerTask: waitersPerTask } = settings;
    const tasksPerRound = Math.ceil(waiters / waitersPerTask);
    const perSetup = (tasksPerRound + settings.scaleBurst) * rounds + 1;
    let postgres: PostgresServer | null = null;
    const setups: Setup[] = [];
    try {
      postgres = await startPostgres();
      const pgServer = postgres;
      log(`${pgServer.version} on port ${pgServer.port} (fsync ${pgServer.settings.fsync}, synchronous_commit ${pgServer.settings.synchronous_commit}); seeding ${perSetup.toLocaleString('en-US')} running tasks per database`);

      const sqlitePath = join(dir, 'scale.db');
      const [readId, ...sqliteIds] = seedDatabase(sqlitePath, { live: { status: 'RUNNING', count: perSetup } }).liveIds;
      const split = (ids: string[]) => ({ liveIds: ids.slice(0, tasksPerRound * rounds), burstIds: ids.slice(tasksPerRound * rounds) });
      const pending: Promise<Setup>[] = [
        startApiServer({ DATABASE_URL: sqlitePath, SQLITE_SYNCHRONOUS: 'FULL' }).then((server) => ({
          key: 'sqlite1',
          label: 'SQLite, 1 instance',
          instances: [server],
          readId: readId!,
          ...split(sqliteIds),
          cpuNs: () => ({ service: cpuTimeNs(server.pid), database: 0 }),
        })),
      ];
      for (const count of COUNTS) {
        const url = await pgServer.createDatabase(`scale_${count}`);
        const [pgReadId, ...pgLiveIds] = (await seedPostgres(url, { status: 'RUNNING', count: perSetup })).liveIds;
        pending.push(
          Promise.all(Array.from({ length: count }, () => startApiServer({ DATABASE_URL: url }))).then((instances) => ({
            key: `pg${count}`,
            label: `PostgreSQL, ${count} instance${count > 1 ? 's' : ''}`,
            instances,
            readId: pgReadId!,
            ...split(pgLiveIds),
            cpuNs: () => ({ service: instances.reduce((sum, server) => sum + cpuTimeNs(server.pid), 0), database: pgServer.cpuTimeNs() }),
          })),
        );
      }
      const holderCount = Math.max(...COUNTS.map((count) => holdersForSpread(tasksPerRound * waitersPerTask, count)));
      const [started, loads, holders, writer] = await Promise.all([
        Promise.allSettled(pending),
        forkLoads('http-load.ts', Math.max(...COUNTS)),
        forkLoads('long-polls.ts', holderCount),
        forkLoad('writer.ts'),
      ]);
      for (const outcome of started) {
        if (outcome.status === 'fulfilled') setups.push(outcome.value);
        else throw outcome.reason;
      }
      const requests = new Map(setups.map((setup) => [setup.key, graphqlPost(READ_QUERY, { id: setup.readId })]));
      for (const setup of setups) {
        for (const server of setup.instances) await gqlRaw(server.url, requests.get(setup.key)!.body!);
      }
      log(`${setups.reduce((sum, s) => sum + s.instances.length, 0)} servers up: ${setups.map((s) => `${s.label} (${s.instances.map((i) => i.port).join(', ')})`).join('; ')}`);

      if (settings.warmupSeconds > 0) {
        for (const setup of setups) await measureRead(setup, loads, requests.get(setup.key)!, settings, settings.warmupSeconds);
      }

      const reads = new Map<string, ReadMeasurement[]>(setups.map((setup) => [setup.key, []]));
      const wakes = new Map<string, SpreadWakeRound[]>(setups.map((setup) => [setup.key, []]));
      const bursts = new Map<string, BurstMeasurement[]>(setups.map((setup) => [setup.key, []]));
      const idsOf = new Map(setups.map((setup) => [setup.key, chunk(setup.liveIds, tasksPerRound)]));
      const burstIdsOf = new Map(setups.map((setup) => [setup.key, chunk(setup.burstIds, settings.scaleBurst)]));
      for (let round = 0; round < rounds; round++) {
        const roundStart = performance.now();
        for (const setup of setups) reads.get(setup.key)!.push(await measureRead(setup, loads, requests.get(setup.key)!, settings, settings.httpSeconds));
        const readSeconds = (performance.now() - roundStart) / 1000;
        for (const setup of setups) {
          const targets = setup.instances.map(apiLongPolls);
          const result = await spreadWakeRound(targets, targets[0]!, idsOf.get(setup.key)![round]!, {
            holders,
            writer,
            ratePerSecond: eventsPerSecond,
            waitersPerTask,
            cpuNs: setup.cpuNs,
          });
          wakes.get(setup.key)!.push(result);
        }
        for (const setup of setups) bursts.get(setup.key)!.push(await measureBurst(setup, writer, burstIdsOf.get(setup.key)![round]!));
        const line = setups.map((setup) => {
          const r = reads.get(setup.key)!.at(-1)!;
          const w = wakes.get(setup.key)!.at(-1)!;
          const b = bursts.get(setup.key)!.at(-1)!;
          return `${setup.key} ${r.throughput.toFixed(0)} req/s, burst ${b.throughput.toFixed(0)} writes/s, wake p50 ${fmt(percentile(w.commitToResponseMs, 50))} p99 ${fmt(percentile(w.commitToResponseMs, 99))} ms (send→response p50 ${fmt(percentile(w.sendToResponseMs, 50))}) lost ${w.lost}`;
        });
        const restSeconds = (performance.now() - roundStart) / 1000 - readSeconds;
        log(`round ${round + 1}/${rounds} (reads ${readSeconds.toFixed(0)} s, wakes and bursts ${restSeconds.toFixed(0)} s): ${line.join(' | ')}`);
      }

      return report(setups, reads, wakes, bursts, settings, postgres);
    } finally {
      await Promise.all(setups.flatMap((setup) => setup.instances.map((server) => server.stop())));
      await postgres?.stop();
    }
  },
};

function report(
  setups: readonly Setup[],
  reads: Map<string, ReadMeasurement[]>,
  wakes: Map<string, SpreadWakeRound[]>,
  bursts: Map<string, BurstMeasurement[]>,
  settings: Settings,
  postgres: PostgresServer,
) {
  const { scaleWaiters, scaleWaitersPerTask: waitersPerTask, scaleEventsPerSecond: eventsPerSecond, connections, httpSeconds, rounds } = settings;
  const waiters = Math.ceil(scaleWaiters / waitersPerTask) * waitersPerTask;
  const sqlite = setups[0]!;
  const pgSetups = setups.slice(1);
  const readOf = (setup: Setup, key: keyof Omit<ReadMeasurement, 'perInstance'>) => reads.get(setup.key)!.map((m) => m[key]);
  const wakeOf = (setup: Setup, q: number) => wakes.get(setup.key)!.map((r) => percentile(r.commitToResponseMs, q));
  const sendOf = (setup: Setup, q: number) => wakes.get(setup.key)!.map((r) => percentile(r.sendToResponseMs, q));
  const lostOf = (setup: Setup) => wakes.get(setup.key)!.reduce((sum, r) => sum + r.lost, 0);
  const baseline = (values: number[]) => ({ label: 'SQLite ×1', values });
  const wakeLabel = `Scale wake, ${waiters.toLocaleString('en-US')} held (${waitersPerTask} per task) over the instances, ${eventsPerSecond.toLocaleString('en-US')} completions/s to one`;

  const rows: Row[] = [];
  for (const setup of pgSetups) {
    const n = setup.instances.length;
    const name = `Scale read POST, PostgreSQL ×${n}`;
    rows.push(
      row({ scenario: `${name}: throughput (all instances)`, unit: 'req/s', ours: readOf(setup, 'throughput'), baseline: baseline(readOf(sqlite, 'throughput')) }),
      row({ scenario: `${name}: latency p50`, unit: 'ms', ours: readOf(setup, 'p50'), baseline: baseline(readOf(sqlite, 'p50')) }),
      row({ scenario: `${name}: latency p99`, unit: 'ms', ours: readOf(setup, 'p99'), baseline: baseline(readOf(sqlite, 'p99')) }),
      row({
        scenario: `${name}: CPU per request (service + database server)`,
        unit: 'µs',
        ours: readOf(setup, 'cpuPerRequestUs'),
        baseline: baseline(readOf(sqlite, 'cpuPerRequestUs')),
      }),
    );
  }
  const burstOf = (setup: Setup, key: keyof BurstMeasurement) => bursts.get(setup.key)!.map((m) => m[key]);
  for (const setup of pgSetups) {
    const name = `Scale writes, ${settings.scaleBurst.toLocaleString('en-US')} completeTask at once to one instance, PostgreSQL ×${setup.instances.length}`;
    rows.push(
      row({ scenario: `${name}: completions/s`, unit: 'req/s', ours: burstOf(setup, 'throughput'), baseline: baseline(burstOf(sqlite, 'throughput')) }),
      row({
        scenario: `${name}: CPU per completion (service + database server)`,
        unit: 'µs',
        ours: burstOf(setup, 'cpuPerWriteUs'),
        baseline: baseline(burstOf(sqlite, 'cpuPerWriteUs')),
      }),
    );
  }
  rows.push(row({ scenario: `${wakeLabel}, SQLite ×1: waiters lost (all rounds)`, unit: '', ours: [lostOf(sqlite)], goal: { text: '0', met: (v) => v === 0 } }));
  for (const setup of pgSetups) {
    const n = setup.instances.length;
    const name = `${wakeLabel}, PostgreSQL ×${n}`;
    rows.push(
      row({ scenario: `${name}: commit→response p50`, unit: 'ms', ours: wakeOf(setup, 50), baseline: baseline(wakeOf(sqlite, 50)) }),
      row({ scenario: `${name}: commit→response p99`, unit: 'ms', ours: wakeOf(setup, 99), baseline: baseline(wakeOf(sqlite, 99)) }),
      row({ scenario: `${name}: waiters lost (all rounds)`, unit: '', ours: [lostOf(setup)], goal: { text: '0', met: (v) => v === 0 } }),
      row({ scenario: `${name}: send→response p99 (client-side)`, unit: 'ms', ours: sendOf(setup, 99), baseline: baseline(sendOf(sqlite, 99)) }),
    );
  }
  for (const setup of pgSetups.filter((s) => s.instances.length > 1)) {
    const n = setup.instances.length;
    const split = wakes.get(setup.key)!.map(writerAndOthers);
    for (const q of [50, 99]) {
      rows.push(
        row({
          scenario: `${wakeLabel}, PostgreSQL ×${n}: p${q}, waiters on the other instances vs the writing one`,
          unit: 'ms',
          ours: split.map((s) => percentile(s.others, q)),
          baseline: { label: 'writing instance', values: split.map((s) => percentile(s.writer.commitToResponseMs, q)) },
        }),
      );
    }
  }

  const ratioText = (values: number[]) => {
    const s = summarize(values);
    return `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  };
  const pg1 = pgSetups[0]!;
  const scaling = pgSetups.slice(1).map((setup) => {
    const n = setup.instances.length;
    const throughput = ratioText(pairedRatios(readOf(setup, 'throughput'), readOf(pg1, 'throughput')));
    const p50 = ratioText(pairedRatios(wakeOf(setup, 50), wakeOf(pg1, 50)));
    const p99 = ratioText(pairedRatios(wakeOf(setup, 99), wakeOf(pg1, 99)));
    return `×${n} ÷ ×1: read throughput ${throughput}, wake p50 ${p50}, wake p99 ${p99}`;
  });
  const busy = setups.map((setup) => {
    const rounds = wakes.get(setup.key)!;
    const total = median(rounds.map((r) => r.busyCpuPercent)).toFixed(0);
    return setup.key === 'sqlite1' ? `${setup.label} ${total} %` : `${setup.label} ${total} % (database server ${median(rounds.map((r) => r.databaseCpuPercent)).toFixed(0)} %)`;
  });
  const failures = setups.map((setup) => ({
    label: setup.label,
    readFailed: reads.get(setup.key)!.reduce((sum, m) => sum + m.failed, 0),
    completionFailures:
      wakes.get(setup.key)!.reduce((sum, r) => sum + r.completionFailures, 0) + bursts.get(setup.key)!.reduce((sum, m) => sum + m.failed, 0),
  }));
  const serverProblems = setups.flatMap((setup) =>
    setup.instances.map((server, k) => ({ setup: setup.label, instance: k + 1, port: server.port, ...unexpected(server.problems(), EXPECTED_SERVER_WARNINGS) })),
  );
  const pgProblems = unexpected(postgres.problems(), EXPECTED_POSTGRES_LINES);
  const notes = [
    `${postgres.version}, a throwaway cluster started for the run with its durable defaults (fsync=${postgres.settings.fsync}, ` +
      `synchronous_commit=${postgres.settings.synchronous_commit}, wal_sync_method=${postgres.settings.wal_sync_method}); one database per instance count, ` +
      'shared by that many server processes (each its own port, the same DATABASE_URL, DATABASE_POOL_SIZE default 10). The SQLite instance runs ' +
      'SQLITE_SYNCHRONOUS=FULL, so on both engines a write is durable before it is answered. All configurations stay up for the whole scenario and are measured in turns within each round.',
    `Reads: task(id) POST, ${connections} connections in all split over the instances (one autocannon process per instance, run at once), ` +
      `${httpSeconds} s per measurement, ${rounds} rounds; throughput is the sum, p50/p99 over every response of every instance; ` +
      'CPU is the service processes\' plus, on PostgreSQL, every postgres process\'s (backends included).',
    `Wake: ${waiters.toLocaleString('en-US')} awaitTask long-polls, ${waitersPerTask} per task with each task's split evenly over the instances, completed by completeTask ` +
      `sent to the first instance at ${eventsPerSecond.toLocaleString('en-US')}/s (well below what one PostgreSQL instance commits here, see the write rows), so every ` +
      'completion wakes waiters on the writing instance and on the others alike; the others learn of each write by LISTEN/NOTIFY and re-read the row. ' +
      `Each waiter is timed against its own task's completion. ${COMMIT_TO_RESPONSE_NOTE} ` +
      'A send→response far above commit→response means the completions queued before their transaction began (the rate was above what the configuration commits).',
    `Scaling on PostgreSQL (per-round ratios, median (min–max)): ${scaling.join('; ')}.`,
    `Writes: after each round's wakes, ${settings.scaleBurst.toLocaleString('en-US')} completeTask mutations (nobody waiting on them) sent at once to the first instance ` +
      'over the writer\'s 32 keep-alive connections: completions per second from the first send to the last answer, and CPU per completion as for reads ' +
      '(on PostgreSQL the other instances\' share is receiving and dropping the notices).',
    `Service (+ database server) CPU from the first completion to the last answer, median: ${busy.join(', ')} of a core (the machine has 2, shared with the load processes).`,
    ...failures.filter((f) => f.readFailed > 0 || f.completionFailures > 0).map((f) => `${f.label}: ${f.readFailed} reads failed, ${f.completionFailures} completing mutations failed.`),
    ...serverProblems.filter((p) => p.count > 0).map((p) => `${p.setup}, instance ${p.instance}: ${p.count} warning/error log lines, first: ${p.first[0]}`),
    ...(pgProblems.count > 0 ? [`PostgreSQL log: ${pgProblems.count} WARNING/ERROR/FATAL lines, first: ${pgProblems.first[0]}`] : []),
  ];
  const summarizeTimings = (t: Timings) => ({
    p50: percentile(t.commitToResponseMs, 50),
    p99: percentile(t.commitToResponseMs, 99),
    max: percentile(t.commitToResponseMs, 100),
    n: t.commitToResponseMs.length,
    lost: t.lost,
    sendToResponseP50: percentile(t.sendToResponseMs, 50),
    sendToResponseP99: percentile(t.sendToResponseMs, 99),
  });
  return {
    rows,
    notes,
    details: {
      postgres: { version: postgres.version, settings: postgres.settings, logProblems: pgProblems },
      serverProblems,
      reads: Object.fromEntries(reads),
      bursts: Object.fromEntries(bursts),
      wakes: Object.fromEntries(
        [...wakes].map(([key, results]) => [
          key,
          results.map((r) => ({
            all: summarizeTimings(r),
            byInstance: r.byInstance.map(summarizeTimings),
            completionFailures: r.completionFailures,
            busyCpuPercent: r.busyCpuPercent,
            databaseCpuPercent: r.databaseCpuPercent,
          })),
        ]),
      ),
    },
  };
}
