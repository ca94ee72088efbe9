import type { SubscriberEvents } from '../load/subscribers.js';
import { splitEvenly } from './arrays.js';
import type { LoadProcess } from './processes.js';

const OPEN_TIMEOUT_MS = 180_000;

/** Subscribers spread over load processes running bench/load/subscribers.ts, driven as one. */
export interface SubscriberPool {
  size: number;
  /** Starts a measurement: events recorded so far are forgotten. */
  mark(): Promise<void>;
  /**
   * Waits until every process has `perSocket` events per socket since `mark` (or
   * `timeoutMs`), then returns them all; socket numbers index the ids given to `openSubscribers`.
   */
  collect(perSocket: number, timeoutMs: number): Promise<SubscriberEvents>;
  close(): Promise<void>;
}

/** Opens one socket and `taskUpdated` subscription per id, spread over `loads`; throws unless all are live. */
export async function openSubscribers(loads: LoadProcess[], url: string, ids: string[], query: string): Promise<SubscriberPool> {
  const slices = splitEvenly(ids, loads.length);
  const used = loads.slice(0, slices.length);
  const opened = await Promise.all(
    slices.map((slice, k) => used[k]!.call<{ live: number; failed: number }>('open', { url, ids: slice, query, timeoutMs: OPEN_TIMEOUT_MS })),
  );
  const live = opened.reduce((sum, { live: count }) => sum + count, 0);
  const pool: SubscriberPool = {
    size: ids.length,
    async mark() {
      await Promise.all(used.map((load) => load.call('mark')));
    },
    async collect(perSocket, timeoutMs) {
      const parts = await Promise.all(
        used.map(async (load, k) => {
          await load.call('waitFor', { count: slices[k]!.length * perSocket, timeoutMs });
          return load.call<SubscriberEvents>('events');
        }),
      );
      return merge(parts, slices.map((slice) => slice.length));
    },
    async close() {
      await Promise.all(used.map((load) => load.call('close')));
    },
  };
  if (live < ids.length) {
    await pool.close();
    throw new Error(`only ${live} of ${ids.length} subscriptions went live`);
  }
  return pool;
}

function merge(parts: SubscriberEvents[], sizes: number[]): SubscriberEvents {
  let offset = 0;
  const shifted = parts.map((part, k) => {
    const socket = part.socket.map((index) => index + offset);
    offset += sizes[k]!;
    return { ...part, socket };
  });
  return {
    socket: shifted.flatMap((part) => part.socket),
    arrivedAt: shifted.flatMap((part) => part.arrivedAt),
    updatedAt: shifted.flatMap((part) => part.updatedAt),
    revision: shifted.flatMap((part) => part.revision),
    message: shifted.flatMap((part) => part.message),
  };
}
