import { sleep } from './clock.js';
import { cpuTimeNs, percentOfCore } from './procfs.js';
import { runningPids } from './processes.js';

export interface QuiesceOptions {
  /** Quiet means every child under this share of a core, in %. @default 5 */
  thresholdPercent?: number;
  /** Each check's window, in ms. @default 100 */
  windowMs?: number;
  /** Give up (and measure anyway) after this long, in ms. @default 3000 */
  timeoutMs?: number;
}

function cpuOf(pids: number[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      times.set(pid, cpuTimeNs(pid));
    } catch {
      // exited meanwhile
    }
  }
  return times;
}

/**
 * Waits until every child process of this run (servers, baselines, load processes) is
 * nearly idle, so a measurement does not share the two cores with the previous one's
 * leftovers (garbage collection, closing sockets): with A, B, A, B that would always
 * penalize the second. Returns how long it waited, in ms.
 */
export async function quiesce({ thresholdPercent = 5, windowMs = 100, timeoutMs = 3_000 }: QuiesceOptions = {}): Promise<number> {
  const started = performance.now();
  for (;;) {
    const pids = runningPids();
    const before = cpuOf(pids);
    await sleep(windowMs);
    const after = cpuOf(pids);
    const busiest = Math.max(0, ...[...after].map(([pid, ns]) => percentOfCore(ns - (before.get(pid) ?? ns), windowMs)));
    const waited = performance.now() - started;
    if (busiest < thresholdPercent || waited > timeoutMs) return waited;
  }
}
