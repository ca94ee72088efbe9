import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { HolderArgs, HolderReport } from '../load/soak-holder.js';
import type { TrafficArgs, TrafficCounts } from '../load/soak-traffic.js';
import { sleep } from '../lib/clock.js';
import { gql, metrics } from '../lib/graphql.js';
import { cpuPressurePercent, cpuTimeNs, listenOverflows, openFds, percentOfCore, rssBytes } from '../lib/procfs.js';
import { forkLoad, type LoadProcess } from '../lib/processes.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { startApiServer, type Server } from '../lib/servers.js';
import type { Settings } from '../lib/settings.js';
import { median } from '../lib/stats.js';

/** Task lifecycles begun per second: 6 writes each (create, claim, 3 progress, end), so about 50 writes/s. */
const TASKS_PER_SECOND = 8;
const READS_PER_SECOND = 200;
/** Shared graphql-ws sockets of the traffic process; one is terminated and replaced every `POOL_RECYCLE_SECONDS`. */
const POOL_SOCKETS = 16;
const POOL_RECYCLE_SECONDS = 20;
/** What each vanishing client process holds until it is killed. */
const HOLDER_LONG_POLLS = 200;
const HOLDER_SUBSCRIPTIONS = 50;
/** Queued tasks that never change, for the vanishing clients to wait on. */
const HELD_TASKS = 20;
/** Samples taken before the load, one a second: their median is the baseline. */
const BASELINE_SAMPLES = 5;
/** After the load stops, handles and gauges must be back to their baseline within this long. */
const RETURN_TIMEOUT_MS = 30_000;
/** The RSS "at" the reference point is the median of the samples this close to it, in s. */
const REFERENCE_HALF_WINDOW_SECONDS = 5;

const GAUGES = [
  'task_api_waiters',
  'task_api_subscriptions',
  'task_api_websocket_connections',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_external_memory_bytes',
] as const;
type Gauge = (typeof GAUGES)[number];

/** One sample of the server, taken every second. */
export interface SoakSample {
  /** Seconds since the load started (negative before it). */
  t: number;
  phase: 'before' | 'load' | 'after';
  rssBytes: number;
  /** Entries of /proc/<pid>/fd. */
  fds: number;
  waiters: number;
  subscriptions: number;
  webSockets: number;
  /** V8's heap (used and allocated) and the memory outside it that JavaScript objects hold (Buffers), from /metrics. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** How long the server took to answer this sample's /metrics scrape, in ms: long when its event loop was held up. */
  scrapeMs: number;
  /** The machine's CPU pressure: how much of the last 10 s some task waited for a CPU, in %. */
  cpuPressure: number;
  /** The server's CPU since the previous sample, in % of one core (all threads). */
  serverCpuPercent: number;
  /** Connections dropped so far, machine-wide, for a full accept queue (a SYN or handshake the kernel had no room for). */
  listenOverflows: number;
}

/** Samples the server once a second, on the second, until `stop`; `phase` tags what follows. */
function startSampler(server: Server) {
  const samples: SoakSample[] = [];
  let phase: SoakSample['phase'] = 'before';
  let loadStartedAt = performance.now();
  let stopped = false;
  let previousCpu = { ns: cpuTimeNs(server.pid), at: performance.now() };
  const take = async (): Promise<SoakSample> => {
    const now = performance.now();
    const t = (now - loadStartedAt) / 1_000;
    const [rss, fds, cpuNs] = [rssBytes(server.pid), openFds(server.pid), cpuTimeNs(server.pid)];
    const serverCpuPercent = percentOfCore(cpuNs - previousCpu.ns, now - previousCpu.at);
    previousCpu = { ns: cpuNs, at: now };
    const scrapeStartedAt = performance.now();
    const gauges: Record<Gauge, number> = await metrics(server.url, GAUGES);
    const scrapeMs = performance.now() - scrapeStartedAt;
    return {
      t: Math.round(t * 10) / 10,
      phase,
      rssBytes: rss,
      fds,
      waiters: gauges.task_api_waiters,
      subscriptions: gauges.task_api_subscriptions,
      webSockets: gauges.task_api_websocket_connections,
      heapUsedBytes: gauges.nodejs_heap_size_used_bytes,
      heapTotalBytes: gauges.nodejs_heap_size_total_bytes,
      externalBytes: gauges.nodejs_external_memory_bytes,
      scrapeMs: Math.round(scrapeMs * 10) / 10,
      cpuPressure: cpuPressurePercent(),
      serverCpuPercent: Math.round(serverCpuPercent * 10) / 10,
      listenOverflows: listenOverflows(),
    };
  };
  let failure: unknown;
  const loop = (async () => {
    let next = performance.now();
    while (!stopped) {
      samples.push(await take());
      next += 1_000;
      await sleep(Math.max(0, next - performance.now()));
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    samples,
    latest: () => samples[samples.length - 1],
    /** Seconds since the load started (negative before it), as the samples' `t`. */
    clock: () => (performance.now() - loadStartedAt) / 1_000,
    /** From now on samples are under load; those taken so far get negative times. */
    loadStarts() {
      const now = performance.now();
      const shift = (now - loadStartedAt) / 1_000;
      loadStartedAt = now;
      for (const sample of samples) sample.t = Math.round((sample.t - shift) * 10) / 10;
      phase = 'load';
    },
    loadEnds() {
      phase = 'after';
    },
    /** Stops sampling; throws if a sample could not be taken (the server died, or /metrics failed). */
    async stop() {
      stopped = true;
      await loop;
      if (failure) throw failure;
    },
  };
}

/**
 * Vanishing clients, one process at a time: each holds long-polls and subscriptions for
 * `holderSeconds`, reports what it saw, and is SIGKILLed; the next one starts at once.
 */
function startHolders(server: Server, ids: string[], holderSeconds: number, log: (message: string) => void) {
  const reports: HolderReport[] = [];
  let current: LoadProcess | null = null;
  let stopped = false;
  const args: HolderArgs = {
    port: server.port,
    wsUrl: server.wsUrl,
    ids,
    longPolls: HOLDER_LONG_POLLS,
    subscriptions: HOLDER_SUBSCRIPTIONS,
    timeoutMs: 20_000,
  };
  const killCurrent = async () => {
    if (!current) return;
    const holder = current;
    current = null;
    reports.push(await holder.call<HolderReport>('report'));
    await holder.kill();
  };
  let failure: unknown;
  const loop = (async () => {
    while (!stopped) {
      current = await forkLoad('soak-holder.ts');
      const held = await current.call<HolderReport>('hold', args);
      if (held.heldLongPolls < HOLDER_LONG_POLLS || held.heldSubscriptions < HOLDER_SUBSCRIPTIONS) {
        log(`vanishing client ${reports.length + 1}: only ${held.heldLongPolls} long-polls and ${held.heldSubscriptions} subscriptions held`);
      }
      for (let waited = 0; waited < holderSeconds * 1_000 && !stopped; waited += 100) await sleep(100);
      await killCurrent();
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    reports,
    /** Kills the one alive now (it vanishes like the others) and starts no more; throws if a holder failed. */
    async stop() {
      stopped = true;
      await loop;
      await killCurrent();
      if (failure) throw failure;
    },
  };
}

/** RSS over the load measured against its level at the reference point (the median of the samples around it). */
function analyseRss(load: readonly SoakSample[], referenceSeconds: number) {
  const near = load.filter((s) => Math.abs(s.t - referenceSeconds) <= REFERENCE_HALF_WINDOW_SECONDS);
  const referenceBytes = median(near.map((s) => s.rssBytes));
  const after = load.filter((s) => s.t >= referenceSeconds);
  const deviations = after.map((s) => (s.rssBytes - referenceBytes) / referenceBytes);
  const endBytes = load[load.length - 1]?.rssBytes ?? NaN;
  let maxDeviation = 0;
  for (const deviation of deviations) if (Math.abs(deviation) > Math.abs(maxDeviation)) maxDeviation = deviation;
  return {
    referenceBytes,
    referenceSamples: near.length,
    maxDeviation,
    maxAbove: Math.max(0, ...deviations),
    maxBelow: Math.min(0, ...deviations),
    endBytes,
    endDeviation: (endBytes - referenceBytes) / referenceBytes,
    /** Least-squares slope over the compared stretch: a leak shows as a steady climb. */
    slopeBytesPerMinute: leastSquares(after.map((s) => [s.t, s.rssBytes])).slope * 60,
  };
}

/** RSS and V8's heap per window of the load: a leak shows as a floor (the minimum, after a collection) that climbs. */
function memoryByWindow(load: readonly SoakSample[], windowSeconds: number) {
  const spread = (values: number[]) => ({ min: Math.min(...values), median: median(values), max: Math.max(...values) });
  const last = load[load.length - 1]?.t ?? 0;
  const windows = [];
  for (let from = 0; from < last; from += windowSeconds) {
    const inside = load.filter((s) => s.t >= from && s.t < from + windowSeconds);
    if (inside.length === 0) continue;
    windows.push({
      from,
      to: from + windowSeconds,
      rssBytes: spread(inside.map((s) => s.rssBytes)),
      heapUsedBytes: spread(inside.map((s) => s.heapUsedBytes)),
      heapTotalBytes: spread(inside.map((s) => s.heapTotalBytes)),
      externalBytes: spread(inside.map((s) => s.externalBytes)),
    });
  }
  return windows;
}

/** One full (mark-compact) collection of a V8 heap in the server process, as `--trace-gc` prints it. */
export interface FullCollection {
  /** Seconds since the load started, when the line arrived. */
  t: number;
  /** V8 isolate: the main thread's, or another thread's (tsx's module loader runs in one of its own). */
  isolate: string;
  /** Heap used before and after the collection, in MiB. */
  beforeMiB: number;
  afterMiB: number;
}

const FULL_COLLECTION = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: Mark-Compact ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/;

/** Collects the full collections the server reports on stdout (it runs with `--trace-gc`). */
function watchCollections(server: Server, clock: () => number): FullCollection[] {
  const collections: FullCollection[] = [];
  server.onStdout((line) => {
    const match = FULL_COLLECTION.exec(line);
    if (match) collections.push({ t: Math.round(clock() * 10) / 10, isolate: match[1]!, beforeMiB: Number(match[2]), afterMiB: Number(match[3]) });
  });
  return collections;
}

/**
 * The heap left after each full collection of the main thread's isolate (the one with the
 * largest heap), from `referenceSeconds` to the end of the load: what the server still
 * holds, without the garbage that makes RSS swing. A leak shows as a rising line.
 */
function analyseCollections(all: readonly FullCollection[], referenceSeconds: number, endSeconds: number) {
  const largest = new Map<string, number>();
  for (const c of all) largest.set(c.isolate, Math.max(largest.get(c.isolate) ?? 0, c.afterMiB));
  const main = [...largest.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const compared = all.filter((c) => c.isolate === main && c.t >= referenceSeconds && c.t <= endSeconds);
  const fit = leastSquares(compared.map((c) => [c.t, c.afterMiB]));
  const atReference = fit.intercept + fit.slope * referenceSeconds;
  const atEnd = fit.intercept + fit.slope * endSeconds;
  return {
    count: compared.length,
    first: compared[0]?.afterMiB ?? NaN,
    last: compared[compared.length - 1]?.afterMiB ?? NaN,
    min: Math.min(...compared.map((c) => c.afterMiB)),
    max: Math.max(...compared.map((c) => c.afterMiB)),
    slopeMiBPerMinute: fit.slope * 60,
    /** The fitted line's change from the reference to the end, as a fraction of its value at the reference. */
    fittedChange: (atEnd - atReference) / atReference,
  };
}

/** The least-squares line through `points` ([x, y]). */
function leastSquares(points: readonly (readonly [number, number])[]) {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  const slope = covariance / variance;
  return { slope, intercept: meanY - slope * meanX };
}

/** What the vanishing clients saw before they were killed, summed: anything but what they held is a fault. */
function holdersFaults(reports: readonly HolderReport[]) {
  const sum = (pick: (report: HolderReport) => number) => reports.reduce((total, report) => total + pick(report), 0);
  return {
    killed: reports.length,
    heldLongPolls: sum((r) => r.heldLongPolls),
    heldSubscriptions: sum((r) => r.heldSubscriptions),
    faults: {
      status5xx: sum((r) => r.faults.status5xx),
      internalErrors: sum((r) => r.faults.internalErrors),
      unexpectedCloses: sum((r) => r.faults.unexpectedCloses),
      other: sum((r) => r.faults.other),
    },
    first: reports.flatMap((r) => r.first).slice(0, 5),
  };
}

/** What the server's own /metrics says went wrong: HTTP responses with a 5xx status, and writes that ended in an unexpected error. */
async function serverSideFaults(server: Server): Promise<{ http5xx: number; writeErrors: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return {
    http5xx: sum(/^task_api_http_request_duration_seconds_count\{[^}]*status="5\d\d"[^}]*\} (\S+)$/gm),
    writeErrors: sum(/^task_api_writes_total\{[^}]*outcome="error"[^}]*\} (\S+)$/gm),
  };
}

const back = (sample: SoakSample, baseline: SoakSample) =>
  sample.fds <= baseline.fds &&
  sample.waiters === baseline.waiters &&
  sample.subscriptions === baseline.subscriptions &&
  sample.webSockets === baseline.webSockets;

/** `10 min`, or `20 s` when not whole minutes. */
const duration = (seconds: number) => (seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`);
const mib = (bytes: number) => bytes / 1_048_576;
const percent = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

/** The median of each field over the samples before the load. */
function baselineOf(samples: readonly SoakSample[]): SoakSample {
  const pick = (field: Exclude<keyof SoakSample, 't' | 'phase'>) => median(samples.map((s) => s[field]));
  return {
    t: 0,
    phase: 'before',
    rssBytes: pick('rssBytes'),
    fds: pick('fds'),
    waiters: pick('waiters'),
    subscriptions: pick('subscriptions'),
    webSockets: pick('webSockets'),
    heapUsedBytes: pick('heapUsedBytes'),
    heapTotalBytes: pick('heapTotalBytes'),
    externalBytes: pick('externalBytes'),
    scrapeMs: pick('scrapeMs'),
    cpuPressure: pick('cpuPressure'),
    serverCpuPercent: pick('serverCpuPercent'),
    listenOverflows: pick('listenOverflows'),
  };
}

async function createHeldTasks(server: Server): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < HELD_TASKS; i++) {
    const data = await gql<{ createTask: { id: string } }>(server.url, 'mutation { createTask(kind: "soak.held", maxAttempts: 1) { id } }');
    ids.push(data.createTask.id);
  }
  return ids;
}

function describeMinute(sample: SoakSample, counts: TrafficCounts): string {
  const faults = Object.values(counts.faults).reduce((a, b) => a + b, 0);
  return (
    `t ${sample.t.toFixed(0)} s: RSS ${mib(sample.rssBytes).toFixed(1)} MiB, ${sample.fds} fds, ${sample.waiters} waiters, ` +
    `${sample.subscriptions} subscriptions, ${sample.webSockets} WebSockets; ${counts.reads.answered} reads, ${counts.writes} writes, ` +
    `${counts.longPolls.answered} long-polls answered, ${faults} client-side faults`
  );
}

/** How busy the machine, the server's event loop and the traffic process were: what to weigh the failures against. */
function contention(load: readonly SoakSample[], counts: TrafficCounts): string {
  const pressure = load.map((s) => s.cpuPressure).filter((v) => !Number.isNaN(v));
  const slowest = load.reduce((worst, s) => (s.scrapeMs > worst.scrapeMs ? s : worst), load[0]!);
  const longest = counts.stalls.reduce((worst, s) => (s.ms > worst.ms ? s : worst), { t: NaN, ms: 0 });
  const overflows = (load[load.length - 1]?.listenOverflows ?? NaN) - (load[0]?.listenOverflows ?? NaN);
  const overflowSeconds = load.filter((s, i) => i > 0 && s.listenOverflows > load[i - 1]!.listenOverflows).map((s) => s.t.toFixed(0));
  return (
    (pressure.length > 0
      ? `Machine CPU pressure (/proc/pressure/cpu, some avg10) over the load: median ${median(pressure).toFixed(0)} %, max ${Math.max(...pressure).toFixed(0)} %. `
      : '') +
    `The server answered the per-second /metrics scrape in a median ${median(load.map((s) => s.scrapeMs)).toFixed(1)} ms, the slowest in ` +
    `${slowest.scrapeMs.toFixed(0)} ms (at ${slowest.t.toFixed(0)} s); its CPU per second: median ${median(load.map((s) => s.serverCpuPercent)).toFixed(0)} %, ` +
    `max ${Math.max(...load.map((s) => s.serverCpuPercent)).toFixed(0)} % of a core. Connections the kernel dropped for a full accept queue during the load ` +
    `(machine-wide, ListenOverflows): ${Number.isNaN(overflows) ? 'not shown' : overflows}` +
    (overflowSeconds.length > 0 ? ` (in the seconds ending at ${overflowSeconds.slice(0, 20).join(', ')}${overflowSeconds.length > 20 ? ' …' : ''} s)` : '') +
    '; the client sees such a connection as open and its request goes out again only after its retransmission backoff, ' +
    'which can land beyond headersTimeout (10 s) after the server accepts it: a 408. ' +
    `The traffic process itself stopped for over a second ${counts.stalls.length} times` +
    (counts.stalls.length > 0 ? ` (longest ${(longest.ms / 1_000).toFixed(1)} s at ${longest.t.toFixed(0)} s)` : '') +
    '; a client stopped that long leaves its half-opened connections silent, and the server answers those 408 too.'
  );
}

interface NotesInput {
  settings: Settings;
  counts: TrafficCounts;
  /** Over the load, in % of one core (all threads). */
  cpu: { serverPercent: number; trafficPercent: number };
  vanishing: ReturnType<typeof holdersFaults>;
  load: readonly SoakSample[];
  rss: ReturnType<typeof analyseRss>;
  heap: ReturnType<typeof analyseCollections>;
  memory: ReturnType<typeof memoryByWindow>;
  baseline: SoakSample;
  afterSample: SoakSample;
  returned: boolean;
  returnSeconds: number;
  errors: Record<string, number>;
  serverSide: { http5xx: number; writeErrors: number };
  errorLines: string[];
}

function notes({ settings, counts, cpu, vanishing, load, rss, heap, memory, baseline, afterSample, returned, returnSeconds, errors, serverSide, errorLines }: NotesInput): string[] {
  const n = (value: number) => Math.round(value).toLocaleString('en-US');
  const perSecond = (value: number) => (value / counts.seconds).toFixed(1);
  const warm = load.filter((s) => s.t >= settings.soakReferenceSeconds);
  const range = (pick: (s: SoakSample) => number) => {
    const values = warm.map(pick);
    return `median ${n(median(values))}, ${n(Math.min(...values))}–${n(Math.max(...values))}`;
  };
  const { tasks, longPolls, subscriptions, webSockets } = counts;
  return [
    `One server process (SQLite, SQLITE_SYNCHRONOUS=FULL, a fresh database) under ${settings.soakSeconds} s of load from one traffic process and a ` +
      'succession of vanishing client processes. Traffic: task lifecycles begun at ' +
      `${TASKS_PER_SECOND}/s, each created, claimed after 1–2 s, given progress 3 times 4–6 s apart and ended 3–5 s later (8 in 10 completed, ` +
      '1 in 10 failed, 1 in 10 cancelled; 1 create in 10 sent again with its idempotency key), and watched meanwhile by a GraphQL awaitTask until done, ' +
      'a REST /wait chain with after_revision (one answer per change) and a graphql-ws subscription on one of ' +
      `${POOL_SOCKETS} shared sockets; 1 task in 4 also by an awaitTask loop with a 2 s timeout, 1 in 4 by a WebSocket of its own, 1 in 4 by SSE. ` +
      'Leaving early, after 0.5–20 s: 1 in 5 awaitTask and REST chains (socket destroyed mid-wait), 1 in 5 shared-socket subscriptions (client complete), ' +
      `1 in 3 own WebSockets (terminated, no close frame), 1 in 4 SSE streams (aborted); one shared socket terminated and replaced every ${POOL_RECYCLE_SECONDS} s. ` +
      `Reads: ${READS_PER_SECOND}/s of the 1,000 newest tasks, 9 in 10 task(id) over POST, 1 in 10 REST GET. Vanishing clients: one process at a time holds ` +
      `${HOLDER_LONG_POLLS} raw long-polls (REST /wait and awaitTask alternately) and ${HOLDER_SUBSCRIPTIONS} WebSocket subscriptions on ${HELD_TASKS} tasks that ` +
      `never change, and is SIGKILLed after ${settings.soakHolderSeconds} s; the next starts at once (${vanishing.killed} killed).`,
    `Achieved: ${perSecond(counts.reads.answered)} reads/s (${n(counts.reads.skipped)} skipped for too many in flight), ${perSecond(counts.writes)} writes/s; ` +
      `tasks ${n(tasks.created)} created, ${n(tasks.claimed)} claimed, ${n(tasks.completed)} completed, ${n(tasks.failed)} failed, ${n(tasks.cancelled)} cancelled, ` +
      `${n(tasks.duplicateCreates)} idempotent repeats; long-polls ${n(longPolls.answered)} answered (${n(longPolls.timedOut)} of them timeouts), ` +
      `${n(longPolls.dropped)} dropped by the client; subscriptions ${n(subscriptions.opened)} opened, ${n(subscriptions.completedByServer)} completed by the ` +
      `server, ${n(subscriptions.completedByClient)} by the client, ${n(subscriptions.vanished)} vanished; WebSockets ${n(webSockets.opened)} opened, ` +
      `${n(webSockets.closed)} closed, ${n(webSockets.terminated)} terminated; vanishing clients held ${n(vanishing.heldLongPolls)} long-polls and ` +
      `${n(vanishing.heldSubscriptions)} subscriptions in all; ${counts.keepAliveRetries.length} requests sent again after their reused keep-alive ` +
      `connection failed before any answer${counts.keepAliveRetries.length > 0 ? ` (idle ${counts.keepAliveRetries.slice(0, 10).join(', ')} ms)` : ''}. CPU over the load: server ${cpu.serverPercent.toFixed(0)} % of a core, ` +
      `traffic process ${cpu.trafficPercent.toFixed(0)} % (the machine has 2 cores, shared).`,
    `Held from ${settings.soakReferenceSeconds} s to the end (per-second samples): task_api_waiters ${range((s) => s.waiters)}; task_api_subscriptions ` +
      `${range((s) => s.subscriptions)}; task_api_websocket_connections ${range((s) => s.webSockets)}; open fds ${range((s) => s.fds)}.`,
    `RSS: ${mib(rss.referenceBytes).toFixed(1)} MiB at ${settings.soakReferenceSeconds} s (median of the ${rss.referenceSamples} samples within ` +
      `${REFERENCE_HALF_WINDOW_SECONDS} s of it), then between ${percent(rss.maxBelow)} and +${percent(rss.maxAbove)} of it in every 1 s sample to the end; ` +
      `${mib(rss.endBytes).toFixed(1)} MiB (${rss.endDeviation >= 0 ? '+' : ''}${percent(rss.endDeviation)}) at the end; least-squares slope over that stretch ` +
      `${(rss.slopeBytesPerMinute / 1_048_576).toFixed(2)} MiB/min; before the load ${mib(baseline.rssBytes).toFixed(1)} MiB, after it ${mib(afterSample.rssBytes).toFixed(1)} MiB.`,
    `V8 heap after each full collection (the server runs with --trace-gc; main thread), from ${settings.soakReferenceSeconds} s to the end: ` +
      (heap.count === 0
        ? 'none ran in that stretch. '
        : `${heap.count} collections, ${heap.first.toFixed(1)} MiB after the first and ${heap.last.toFixed(1)} MiB after the last, ` +
          `${heap.min.toFixed(1)}–${heap.max.toFixed(1)} MiB, least-squares slope ${heap.slopeMiBPerMinute.toFixed(2)} MiB/min ` +
          `(${heap.fittedChange >= 0 ? '+' : ''}${percent(heap.fittedChange)} over the stretch). `) +
      'RSS swings with the garbage V8 lets pile up between full collections.',
    `Memory per ${settings.soakWindowSeconds} s of the load, MiB (RSS min/median/max; V8 heap used min/median/max; heap allocated median; external median): ` +
      memory
        .map(
          (w) =>
            `${w.from}–${w.to} s: ${mib(w.rssBytes.min).toFixed(0)}/${mib(w.rssBytes.median).toFixed(0)}/${mib(w.rssBytes.max).toFixed(0)}; ` +
            `${mib(w.heapUsedBytes.min).toFixed(0)}/${mib(w.heapUsedBytes.median).toFixed(0)}/${mib(w.heapUsedBytes.max).toFixed(0)}; ` +
            `${mib(w.heapTotalBytes.median).toFixed(0)}; ${mib(w.externalBytes.median).toFixed(0)}`,
        )
        .join(' · ') +
      '.',
    `After the load stopped (the traffic process closed its shared sockets, terminated its own, destroyed its requests; the last vanishing client was ` +
      `killed), ${returned ? `everything was back in ${returnSeconds.toFixed(1)} s` : `not everything was back after ${returnSeconds.toFixed(1)} s`}: ` +
      `fds ${afterSample.fds} (before ${baseline.fds}), waiters ${afterSample.waiters}, subscriptions ${afterSample.subscriptions}, WebSockets ` +
      `${afterSample.webSockets} (before ${baseline.waiters}, ${baseline.subscriptions}, ${baseline.webSockets}). Handles are the entries of /proc/<pid>/fd; ` +
      'the orchestrator\'s own keep-alive connection for the /metrics scrapes is open in both.',
    contention(load, counts),
    `Errors by kind: ${Object.entries(errors).map(([kind, count]) => `${kind} ${count}`).join(', ')}; other client-visible failures ` +
      `${counts.faults.other + vanishing.faults.other}. The server's own /metrics: ${serverSide.http5xx} HTTP responses with a 5xx status, ` +
      `${serverSide.writeErrors} writes with outcome "error".`,
    ...counts.first.slice(0, 5).map((line) => `First client faults: ${line}`),
    ...vanishing.first.map((line) => `Vanishing client fault: ${line}`),
    ...errorLines.slice(0, 5).map((line) => `Server error log line: ${line}`),
  ];
}

/**
 * 10. Soak: mixed traffic against one server process for `soakSeconds`, with the server's
 * RSS, open file descriptors and held-work gauges sampled every second; afterwards
 * everything must return to where it was before the load, and nothing may have failed.
 */
export const soak: Scenario = {
  name: 'soak',
  title: '10. Soak: mixed traffic with vanishing clients; RSS, handles and gauges every second; errors',
  async run({ settings, dir, log }) {
    const { soakSeconds, soakReferenceSeconds, soakHolderSeconds } = settings;
    const seed = randomInt(2 ** 31);
    const server = await startApiServer({ DATABASE_URL: join(dir, 'soak.db') }, ['--trace-gc']);
    const heldIds = await createHeldTasks(server);
    const traffic = await forkLoad('soak-traffic.ts');
    const sampler = startSampler(server);
    const collections = watchCollections(server, sampler.clock);
    await sleep(BASELINE_SAMPLES * 1_000);
    const baseline = baselineOf(sampler.samples);
    const errorsBefore = server.errors().count;
    log(`baseline: RSS ${mib(baseline.rssBytes).toFixed(1)} MiB, ${baseline.fds} fds, gauges ${baseline.waiters}/${baseline.subscriptions}/${baseline.webSockets}; seed ${seed}`);

    const trafficArgs: TrafficArgs = {
      port: server.port,
      wsUrl: server.wsUrl,
      tasksPerSecond: TASKS_PER_SECOND,
      readsPerSecond: READS_PER_SECOND,
      poolSockets: POOL_SOCKETS,
      poolRecycleSeconds: POOL_RECYCLE_SECONDS,
      readIds: heldIds,
      kind: 'soak',
      seed,
    };
    sampler.loadStarts();
    const loadStartedAt = performance.now();
    const cpuBefore = { server: cpuTimeNs(server.pid), traffic: cpuTimeNs(traffic.pid) };
    await traffic.call('start', trafficArgs);
    const holders = startHolders(server, heldIds, soakHolderSeconds, log);
    const reportEveryMs = settings.quick ? 10_000 : 60_000;
    for (let due = reportEveryMs; due <= soakSeconds * 1_000; due += reportEveryMs) {
      await sleep(Math.max(0, loadStartedAt + due - performance.now()));
      log(describeMinute(sampler.latest()!, await traffic.call<TrafficCounts>('counts')));
    }
    await sleep(Math.max(0, loadStartedAt + soakSeconds * 1_000 - performance.now()));

    const loadMs = performance.now() - loadStartedAt;
    const cpu = {
      serverPercent: percentOfCore(cpuTimeNs(server.pid) - cpuBefore.server, loadMs),
      trafficPercent: percentOfCore(cpuTimeNs(traffic.pid) - cpuBefore.traffic, loadMs),
    };
    const counts = await traffic.call<TrafficCounts>('stop');
    await holders.stop();
    await traffic.stop();
    sampler.loadEnds();
    const stoppedAt = performance.now();
    let returned = false;
    while (!returned && performance.now() - stoppedAt < RETURN_TIMEOUT_MS) {
      await sleep(1_000);
      const latest = sampler.latest()!;
      returned = latest.phase === 'after' && back(latest, baseline);
    }
    const returnSeconds = (performance.now() - stoppedAt) / 1_000;
    await sleep(1_000);
    await sampler.stop();
    const afterSample = sampler.latest()!;
    log(`after the load (${returnSeconds.toFixed(1)} s): ${afterSample.fds} fds, gauges ${afterSample.waiters}/${afterSample.subscriptions}/${afterSample.webSockets}`);

    const load = sampler.samples.filter((s) => s.phase === 'load');
    const rss = analyseRss(load, soakReferenceSeconds);
    const memory = memoryByWindow(load, settings.soakWindowSeconds);
    const heap = analyseCollections(collections, soakReferenceSeconds, loadMs / 1_000);
    const serverSide = await serverSideFaults(server);
    const errorLines = server.errors();
    const vanishing = holdersFaults(holders.reports);
    const errors = {
      status5xx: counts.faults.status5xx + vanishing.faults.status5xx,
      internalErrors: counts.faults.internalErrors + vanishing.faults.internalErrors,
      unexpectedCloses: counts.faults.unexpectedCloses + vanishing.faults.unexpectedCloses,
      errorLogLines: errorLines.count - errorsBefore,
    };
    const totalErrors = Object.values(errors).reduce((a, b) => a + b, 0);
    const otherFailures = counts.faults.other + vanishing.faults.other;
    const label = `Soak ${duration(soakSeconds)}`;
    const reference = duration(soakReferenceSeconds);
    const backGoal = (before: number) => ({ text: `back to ${before} within ${RETURN_TIMEOUT_MS / 1_000} s`, met: (v: number) => v === before && returned });
    return {
      rows: [
        row({ scenario: `${label}: RSS at ${reference} (after warm-up)`, unit: 'MiB', ours: [mib(rss.referenceBytes)] }),
        row({
          scenario: `${label}: RSS at the end of the load`,
          unit: 'MiB',
          ours: [mib(rss.endBytes)],
          goal: { text: `within 5 % of ${reference}`, met: () => Math.abs(rss.endDeviation) <= 0.05 },
        }),
        row({
          scenario: `${label}: RSS largest deviation from ${reference}, ${reference}–end`,
          unit: '%',
          ours: [rss.maxDeviation * 100],
          goal: { text: '≤ 5 %', met: (v) => Math.abs(v) <= 5 },
        }),
        row({
          scenario: `${label}: V8 heap after each full collection, change from ${reference} to the end (least-squares line)`,
          unit: '%',
          ours: [heap.fittedChange * 100],
        }),
        row({
          scenario: `${label}: open handles (fds) after the load`,
          unit: '',
          ours: [afterSample.fds],
          baseline: { label: 'before the load', values: [baseline.fds] },
          goal: { text: `back to ${baseline.fds} within ${RETURN_TIMEOUT_MS / 1_000} s`, met: (v) => v <= baseline.fds && returned },
        }),
        row({ scenario: `${label}: task_api_waiters after the load`, unit: '', ours: [afterSample.waiters], goal: backGoal(baseline.waiters) }),
        row({ scenario: `${label}: task_api_subscriptions after the load`, unit: '', ours: [afterSample.subscriptions], goal: backGoal(baseline.subscriptions) }),
        row({ scenario: `${label}: task_api_websocket_connections after the load`, unit: '', ours: [afterSample.webSockets], goal: backGoal(baseline.webSockets) }),
        row({ scenario: `${label}: errors (5xx, INTERNAL_SERVER_ERROR, unexpected WebSocket closes, error log lines)`, unit: '', ours: [totalErrors], goal: { text: '0', met: (v) => v === 0 } }),
        row({ scenario: `${label}: other failures seen by clients`, unit: '', ours: [otherFailures], goal: { text: '0', met: (v) => v === 0 } }),
      ],
      notes: notes({ settings, counts, cpu, vanishing, load, rss, heap, memory, baseline, afterSample, returned, returnSeconds, errors, serverSide, errorLines: errorLines.first }),
      details: {
        seed,
        rates: { tasksPerSecond: TASKS_PER_SECOND, readsPerSecond: READS_PER_SECOND, poolSockets: POOL_SOCKETS, poolRecycleSeconds: POOL_RECYCLE_SECONDS },
        holders: { longPolls: HOLDER_LONG_POLLS, subscriptions: HOLDER_SUBSCRIPTIONS, seconds: soakHolderSeconds, reports: holders.reports },
        baseline,
        rss,
        heap,
        memory,
        fullCollections: collections,
        returned,
        returnSeconds,
        after: afterSample,
        cpu,
        errors,
        serverSide,
        errorLogLines: errorLines.first,
        traffic: counts,
        samples: sampler.samples,
      },
    };
  },
};
