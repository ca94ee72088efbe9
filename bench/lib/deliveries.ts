import type { Deliveries } from '../load/stream-clients.js';
import { waitUntil } from './clock.js';
import type { LoadProcess } from './processes.js';
import { rssBytes } from './procfs.js';
import { percentile } from './stats.js';

/** What one round of paced writes did at its receivers. */
export interface DeliveryRound {
  /** Per write: from its send to the last receiver holding it, in ms. */
  p50: number;
  p99: number;
  /** Expected deliveries (write × receiver that should hold it) not received. */
  lost: number;
  /** Deliveries that came after a later one at the same receiver (numeric keys only). */
  reordered: number;
  /** Deliveries received, duplicates included. */
  received: number;
  /** The server's CPU from the first write to the last delivery, in % of one core (set by the scenario). */
  serverCpuPercent?: number;
}

/** The deliveries of several load processes as one, each process's receivers numbered after the previous one's. */
export async function gather(loads: readonly { load: LoadProcess; receivers: number }[]): Promise<Deliveries> {
  const parts = await Promise.all(loads.map(({ load }) => load.call<Deliveries>('events')));
  const all: Deliveries = { receiver: [], arrivedAt: [], key: [], sentAt: [] };
  let offset = 0;
  parts.forEach((part, k) => {
    for (let i = 0; i < part.receiver.length; i++) {
      all.receiver.push(part.receiver[i]! + offset);
      all.arrivedAt.push(part.arrivedAt[i]!);
      all.key.push(part.key[i]!);
      all.sentAt.push(part.sentAt[i]!);
    }
    offset += loads[k]!.receivers;
  });
  return all;
}

/** Waits until the loads together counted `expected` deliveries since `mark`, or `timeoutMs`. */
export async function awaitCount(loads: readonly LoadProcess[], expected: number, timeoutMs: number): Promise<void> {
  const total = async () => (await Promise.all(loads.map((load) => load.call<{ count: number }>('count')))).reduce((sum, { count }) => sum + count, 0);
  await waitUntil(async () => (await total()) >= expected, { timeoutMs, intervalMs: 50, what: `${expected} deliveries` }).catch(() => undefined);
}

/**
 * Judges a round: `written` writes, each expected at `receiversPerWrite` receivers; writes sent
 * before `since` (a previous round's) are left out.
 */
export function judge(deliveries: Deliveries, written: number, receiversPerWrite: number, since: number): DeliveryRound {
  const last = new Map<string | number, number>();
  const holders = new Map<string | number, Set<number>>();
  const lastKey = new Map<number, number>();
  let reordered = 0;
  let received = 0;
  for (let i = 0; i < deliveries.receiver.length; i++) {
    const [key, sentAt, receiver] = [deliveries.key[i]!, deliveries.sentAt[i]!, deliveries.receiver[i]!];
    if (!(sentAt >= since)) continue;
    received++;
    last.set(key, Math.max(last.get(key) ?? -Infinity, deliveries.arrivedAt[i]! - sentAt));
    let set = holders.get(key);
    if (!set) holders.set(key, (set = new Set()));
    set.add(receiver);
    if (typeof key === 'number') {
      if (key <= (lastKey.get(receiver) ?? -Infinity)) reordered++;
      else lastKey.set(receiver, key);
    }
  }
  const expected = written * receiversPerWrite;
  const held = [...holders.values()].reduce((sum, set) => sum + set.size, 0);
  const latencies = [...last.values()];
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), lost: expected - held, reordered, received };
}

/** Runs `work` while sampling the server's RSS every 20 ms; returns its result and the peak RSS growth in MiB. */
export async function withRssPeak<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; rssGrowthMiB: number }> {
  const before = rssBytes(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  try {
    const result = await work();
    peak = Math.max(peak, rssBytes(pid));
    return { result, rssGrowthMiB: (peak - before) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}
