import type { LongPollResults } from '../load/long-polls.js';
import { histogram } from './graphql.js';
import type { WriteResults } from '../load/writer.js';
import { splitEvenly } from './arrays.js';
import { sleep, waitUntil } from './clock.js';
import { measureCpu, measureCpuWith, percentOfCore } from './procfs.js';
import { quiesce } from './quiesce.js';
import type { LoadProcess } from './processes.js';
import { loadProcessesFor } from './settings.js';
import type { RequestTemplate } from './raw-http.js';
import type { Server } from './servers.js';
import { bucketPercentile, bucketsBetween, percentile, type Buckets } from './stats.js';

/** A server that holds long-polls and can complete their tasks. */
export interface LongPollTarget {
  server: Server;
  /** The long-poll for `@@id@@`. */
  wait: RequestTemplate;
  /** The request that completes `@@id@@`. */
  complete: RequestTemplate;
  /** How many long-polls the server holds now. */
  held(): Promise<number>;
  /** The server's histogram of commit → response written (`task_api_wake_seconds`), if it has one. */
  wakes?(): Promise<Buckets>;
}

/** How `WakeRound`'s latencies are defined, for the report. */
export const COMMIT_TO_RESPONSE_NOTE =
  'commit→response = arrival − max(updatedAt, send): updatedAt is the server clock in whole ms, read just before the transaction, ' +
  'and send is when the completing mutation left the client. Both are at or before the commit, so this is an upper bound: it ' +
  'overstates by the time from the later of the two to the commit (the transaction itself, and up to 1 ms of clock rounding ' +
  'when the mutation reaches the clock read within the ms it was sent). send→response is the client-side figure, from just ' +
  'before sending the completing mutation.';

export const SERVER_WAKE_NOTE =
  "commit→written is the server's own task_api_wake_seconds histogram over the round: from the commit's publication " +
  '(performance.now(), right after the transaction) to the response handed to the socket, so without the loopback ' +
  "transit and the client's parsing; its p50/p99 are interpolated within the histogram's buckets (0.1, 0.25, 0.5, 1, " +
  '2.5, 5 ms …), the mean is exact.';

/** One round: every waiter held, then every task completed at a fixed rate. */
export interface WakeRound {
  /**
   * Per answered waiter, in ms: arrival − max(updatedAt, sent), where updatedAt is the
   * server's commit timestamp (whole ms, read just before the transaction) and sent is when
   * the completing request left the client. Both are ≤ the commit, so this is an upper bound
   * of commit → response.
   */
  commitToResponseMs: number[];
  /** Per answered waiter: arrival − when the completing request was sent, in ms. */
  sendToResponseMs: number[];
  /** Per answered waiter: arrival − updatedAt alone (whole-ms server clock), in ms. */
  updatedToResponseMs: number[];
  /** Waiters with no answer saying the task is done. */
  lost: number;
  /** Completing requests that failed. */
  completionFailures: number;
  /** Server CPU while the waiters were held and nothing happened, in % of a core (NaN if not measured). */
  idleCpuPercent: number;
  /** Server CPU from the first completion to the last answer, in % of a core (all threads): near or above 100 means it was saturated. */
  busyCpuPercent: number;
  /**
   * The server's own `task_api_wake_seconds` over the round, in ms: from the commit (its
   * publication, to the µs) to the response handed to the socket; p50/p99 only as fine as the
   * histogram's buckets. Absent for a server without that histogram (the polling baseline).
   */
  serverWakeMs?: { mean: number; p50: number; p99: number; n: number };
}

export interface WakeOptions {
  /** Processes running bench/load/long-polls.ts; the waiters are spread over them. */
  holders: LoadProcess[];
  /** A process running bench/load/writer.ts. */
  writer: LoadProcess;
  /** Completions per second. */
  ratePerSecond: number;
  /** Idle CPU window once every waiter is held, in s (0: skip). */
  idleSeconds: number;
}

const HOLD_TIMEOUT_MS = 120_000;
/** How long answers may trail the last completion. */
const ANSWER_GRACE_MS = 10_000;

/**
 * Once every child process is quiet, holds one long-poll per id, optionally measures idle
 * CPU, then completes every task at the rate and times each answer.
 */
export async function wakeRound(target: LongPollTarget, ids: string[], { holders, writer, ratePerSecond, idleSeconds }: WakeOptions): Promise<WakeRound> {
  await quiesce();
  const slices = splitEvenly(ids, holders.length);
  await Promise.all(slices.map((slice, k) => holders[k]!.call('hold', { port: target.server.port, template: target.wait, ids: slice })));
  await waitUntil(async () => (await target.held()) >= ids.length, { timeoutMs: HOLD_TIMEOUT_MS, intervalMs: 100, what: `${ids.length} held long-polls` });
  const idleCpuPercent = idleSeconds > 0 ? await idleCpu(target.server.pid, idleSeconds) : NaN;
  const wakesBefore = await target.wakes?.();
  const { result, cpuNs, wallMs } = await measureCpu(target.server.pid, async () => {
    const writes = await writer.call<WriteResults>('run', { port: target.server.port, template: target.complete, ids, ratePerSecond });
    const answers = await Promise.all(slices.map((_, k) => holders[k]!.call<LongPollResults>('collect', { timeoutMs: ANSWER_GRACE_MS })));
    return timings(answers, writes);
  });
  const wakesAfter = await target.wakes?.();
  const serverWakeMs = wakesBefore && wakesAfter ? msOf(bucketsBetween(wakesBefore, wakesAfter)) : undefined;
  return { ...result, idleCpuPercent, busyCpuPercent: percentOfCore(cpuNs, wallMs), serverWakeMs };
}

function msOf(wakes: Buckets): WakeRound['serverWakeMs'] {
  return { mean: (wakes.sum / wakes.count) * 1000, p50: bucketPercentile(wakes, 50) * 1000, p99: bucketPercentile(wakes, 99) * 1000, n: wakes.count };
}

async function idleCpu(pid: number, seconds: number): Promise<number> {
  const { cpuNs, wallMs } = await measureCpu(pid, () => sleep(seconds * 1000));
  return percentOfCore(cpuNs, wallMs);
}

export type Timings = Omit<WakeRound, 'idleCpuPercent' | 'busyCpuPercent' | 'serverWakeMs'>;

function timings(answers: LongPollResults[], writes: WriteResults): Timings {
  const round: Timings = {
    commitToResponseMs: [],
    sendToResponseMs: [],
    updatedToResponseMs: [],
    lost: 0,
    completionFailures: writes.failed,
  };
  let i = 0;
  for (const { arrivedAt, updatedAt, done } of answers) {
    for (let k = 0; k < arrivedAt.length; k++, i++) {
      if (!done[k]) {
        round.lost++;
        continue;
      }
      const sentAt = writes.sentAt[i]!;
      round.commitToResponseMs.push(arrivedAt[k]! - Math.max(updatedAt[k]!, sentAt));
      round.sendToResponseMs.push(arrivedAt[k]! - sentAt);
      round.updatedToResponseMs.push(arrivedAt[k]! - updatedAt[k]!);
    }
  }
  return round;
}

/** The round's percentiles, for the results file (not every sample). */
export function summarizeRound(round: WakeRound) {
  const percentiles = (values: number[]) => {
    const [p50, p90, p99, max] = [50, 90, 99, 100].map((q) => percentile(values, q));
    return { p50, p90, p99, max, n: values.length };
  };
  return {
    commitToResponseMs: percentiles(round.commitToResponseMs),
    sendToResponseMs: percentiles(round.sendToResponseMs),
    updatedToResponseMs: percentiles(round.updatedToResponseMs),
    lost: round.lost,
    completionFailures: round.completionFailures,
    idleCpuPercent: round.idleCpuPercent,
    busyCpuPercent: round.busyCpuPercent,
    serverWakeMs: round.serverWakeMs,
  };
}

/** A wake round whose waiters are spread over several instances, completed through one of them. */
export interface SpreadWakeRound extends WakeRound {
  /** Per instance (in the order given), the timings of the waiters it held. */
  byInstance: Timings[];
  /** The database server's share of `busyCpuPercent` (0 for SQLite, which runs inside the service). */
  databaseCpuPercent: number;
}

export interface SpreadWakeOptions {
  /** Processes running bench/load/long-polls.ts; enough for every instance's share (`holdersForSpread`). */
  holders: LoadProcess[];
  /** A process running bench/load/writer.ts. */
  writer: LoadProcess;
  /** Completions per second. */
  ratePerSecond: number;
  /** Long-polls held per task, split evenly over the instances (a multiple of their count). */
  waitersPerTask: number;
  /** CPU used so far, in ns, by the service's processes and by the database server (0 for SQLite). */
  cpuNs: () => { service: number; database: number };
}

/** Holder processes a spread round needs: each instance's share split so no process holds more than its limit. */
export function holdersForSpread(waiters: number, instances: number): number {
  return instances * loadProcessesFor(Math.ceil(waiters / instances));
}

/**
 * Like `wakeRound`, but every task has `waitersPerTask` long-polls, spread evenly over
 * `targets`, and every completion goes to `writeTo` at the rate: each completion wakes
 * waiters on the instance that wrote it and on the others alike. A waiter's latency is
 * taken against its own task's completion (its `updatedAt`, and when its mutation was sent).
 * The server CPU is the service's and the database server's, as `cpuNs` reads them.
 */
export async function spreadWakeRound(
  targets: readonly LongPollTarget[],
  writeTo: LongPollTarget,
  taskIds: string[],
  { holders, writer, ratePerSecond, waitersPerTask, cpuNs }: SpreadWakeOptions,
): Promise<SpreadWakeRound> {
  if (waitersPerTask % targets.length !== 0) throw new Error(`spreadWakeRound: ${waitersPerTask} waiters per task do not split over ${targets.length} instances`);
  await quiesce();
  const perInstance = taskIds.flatMap((id) => Array<string>(waitersPerTask / targets.length).fill(id));
  const jobs: { target: number; holder: LoadProcess; ids: string[] }[] = [];
  for (const t of targets.keys()) {
    for (const slice of splitEvenly(perInstance, loadProcessesFor(perInstance.length))) {
      const holder = holders[jobs.length];
      if (!holder) throw new Error(`spreadWakeRound: ${holders.length} holder processes are not enough`);
      jobs.push({ target: t, holder, ids: slice });
    }
  }
  const total = perInstance.length * targets.length;
  await Promise.all(jobs.map(({ target, holder, ids }) => holder.call('hold', { port: targets[target]!.server.port, template: targets[target]!.wait, ids })));
  const heldEverywhere = async () => (await Promise.all(targets.map((target) => target.held()))).reduce((a, b) => a + b, 0);
  await waitUntil(async () => (await heldEverywhere()) >= total, { timeoutMs: HOLD_TIMEOUT_MS, intervalMs: 100, what: `${total} held long-polls` });
  const totalNs = () => {
    const { service, database } = cpuNs();
    return service + database;
  };
  const databaseBefore = cpuNs().database;
  const { result, cpuNs: busyNs, wallMs } = await measureCpuWith(totalNs, async () => {
    const writes = await writer.call<WriteResults>('run', { port: writeTo.server.port, template: writeTo.complete, ids: taskIds, ratePerSecond });
    const answers = await Promise.all(jobs.map(({ holder }) => holder.call<LongPollResults>('collect', { timeoutMs: ANSWER_GRACE_MS })));
    return { writes, answers };
  });
  const sentAt = new Map(taskIds.map((id, i) => [id, result.writes.sentAt[i]!]));
  const byInstance = [...targets.keys()].map((t) =>
    timingsById(
      jobs.flatMap((job, k) => (job.target === t ? [{ ids: job.ids, answers: result.answers[k]! }] : [])),
      sentAt,
      result.writes.failed,
    ),
  );
  const all = timingsById(jobs.map((job, k) => ({ ids: job.ids, answers: result.answers[k]! })), sentAt, result.writes.failed);
  const databaseNs = cpuNs().database - databaseBefore;
  return { ...all, idleCpuPercent: NaN, busyCpuPercent: percentOfCore(busyNs, wallMs), databaseCpuPercent: percentOfCore(databaseNs, wallMs), byInstance };
}

/** Timings of waiters whose task ids are known, against their task's send time. */
function timingsById(groups: readonly { ids: readonly string[]; answers: LongPollResults }[], sentAt: ReadonlyMap<string, number>, failures: number): Timings {
  const round: Timings = { commitToResponseMs: [], sendToResponseMs: [], updatedToResponseMs: [], lost: 0, completionFailures: failures };
  for (const { ids, answers } of groups) {
    for (const [k, id] of ids.entries()) {
      const { arrivedAt, updatedAt, done } = { arrivedAt: answers.arrivedAt[k]!, updatedAt: answers.updatedAt[k]!, done: answers.done[k] };
      if (!done) {
        round.lost++;
        continue;
      }
      const sent = sentAt.get(id)!;
      round.commitToResponseMs.push(arrivedAt - Math.max(updatedAt, sent));
      round.sendToResponseMs.push(arrivedAt - sent);
      round.updatedToResponseMs.push(arrivedAt - updatedAt);
    }
  }
  return round;
}
