import type { TaskEvents } from './events.js';
import type { TaskStore } from './store.js';
import * as machine from './task.js';

const LEASE_BATCH = 500;

/**
 * Lease expiry: one timer, set for the earliest lease end it has heard of (a write here, a
 * notice from another instance, a fresh look at the store), which sends every lease that has
 * ended back to the queue (or to FAILED) and publishes the rows.
 */
export function createLeases({
  store,
  events,
  clock,
  onError,
}: {
  store: TaskStore;
  events: TaskEvents;
  clock: () => Date;
  onError: (error: unknown, context: string) => void;
}) {
  async function expire(): Promise<void> {
    const now = clock();
    for (;;) {
      const expired = await store.expireLeases(now.getTime(), LEASE_BATCH, (task) => machine.expireLease(task, now));
      expired.forEach(events.publish);
      if (expired.length < LEASE_BATCH) return;
    }
  }

  const timer = createWakeTimer(
    async () => {
      await expire();
      return store.nextLeaseExpiry();
    },
    clock,
    onError,
  );

  return {
    /** Sends expired leases back to the queue (or to FAILED) now. */
    expire,
    /** A lease ends at `time` (epoch ms): expire it then if it is still held (noted until `start()`). */
    endsAt: timer.at,
    start: timer.start,
    /** Sets the timer for the earliest lease end the store holds (another instance may have granted it). */
    rearm: async () => timer.at(await store.nextLeaseExpiry()),
    stop: timer.stop,
  };
}

export type Leases = ReturnType<typeof createLeases>;

/**
 * A timer that fires at the earliest time asked of it. `run` does the work and returns the
 * next time it is wanted (or null); no timer is left running while nothing is due. Before
 * `start()` it only keeps the earliest time asked.
 */
function createWakeTimer(run: () => Promise<number | null>, clock: () => Date, onError: (error: unknown, context: string) => void) {
  let timer: NodeJS.Timeout | undefined;
  let dueAt = Infinity;
  let started = false;
  let stopped = false;
  let earliest: number | null = null;

  function at(time: number | null): void {
    if (stopped || time === null || time >= dueAt) return;
    if (!started) {
      earliest = Math.min(earliest ?? time, time);
      return;
    }
    clearTimeout(timer);
    dueAt = time;
    // Node fires a longer delay after 1 ms: a far time is reached in steps of the longest one.
    timer = setTimeout(fire, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, time - clock().getTime()))).unref();
  }

  async function fire(): Promise<void> {
    dueAt = Infinity;
    timer = undefined;
    let next: number | null = null;
    try {
      next = await run();
    } catch (error) {
      onError(error, 'lease expiry');
      next = clock().getTime() + 1_000;
    }
    at(next);
  }

  return {
    at,
    start() {
      if (started) return;
      started = true;
      at(earliest);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The longest delay `setTimeout` takes as given (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
