import type { ApolloClient } from '@apollo/client';
import { AWAIT_TASK } from './operations';

/** How long one awaitTask may be held by the server, in seconds. */
export const LONG_POLL_SECONDS = 25;
/** The hold while more tasks are followed than there are connections for (see LongPollPool). */
const SHARED_POLL_SECONDS = 4;
/** Held requests at once: a browser opens 6 HTTP/1.1 connections per origin; keep 2 free. */
const MAX_HELD = 4;

/**
 * Shares the browser's few connections between the tasks being followed. With up to
 * MAX_HELD tasks each holds its own 25 s awaitTask; with more, every hold is cut to a few
 * seconds and the tasks take turns (a task that changed while waiting for its turn gets the
 * change at once, since it asks with `afterRevision`), so the list refresh and the buttons
 * never queue behind long-polls.
 */
export class LongPollPool {
  private followers = 0;
  private held = new Set<{ controller: AbortController; seconds: number }>();
  private queue: Array<() => void> = [];

  constructor(private readonly maxHeld = MAX_HELD) {}

  /** A task starts being followed; call the result when it stops. */
  follow(): () => void {
    this.followers++;
    if (this.followers > this.maxHeld) {
      // Long holds would now keep the others waiting: end them; they come back short.
      for (const slot of this.held) if (slot.seconds > SHARED_POLL_SECONDS) slot.controller.abort();
    }
    return () => {
      this.followers--;
    };
  }

  /** Waits for a free connection; resolves with the hold to ask for and a signal the pool may abort. */
  async acquire(signal: AbortSignal): Promise<{ seconds: number; signal: AbortSignal; release: () => void }> {
    while (this.held.size >= this.maxHeld) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.queue = this.queue.filter((next) => next !== wake);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.queue.push(wake);
      });
    }
    const slot = { controller: new AbortController(), seconds: this.followers > this.maxHeld ? SHARED_POLL_SECONDS : LONG_POLL_SECONDS };
    this.held.add(slot);
    return {
      seconds: slot.seconds,
      signal: slot.controller.signal,
      release: () => {
        if (!this.held.delete(slot)) return;
        this.queue.shift()?.();
      },
    };
  }
}

/**
 * Follows one task with `awaitTask(id, timeout, afterRevision)` until it is done, the task
 * is gone, or `signal` aborts. Each answer is written to Apollo's cache (that is the whole
 * point: the task card reads it from there). Network errors are retried with backoff.
 */
export async function followByLongPolling({
  client,
  pool,
  id,
  revision,
  signal,
}: {
  client: ApolloClient;
  pool: LongPollPool;
  id: string;
  /** The revision already shown: the first answer comes once there is a newer one. */
  revision: number;
  signal: AbortSignal;
}): Promise<void> {
  const stop = pool.follow();
  let afterRevision = revision;
  let failures = 0;
  try {
    while (!signal.aborted) {
      const slot = await pool.acquire(signal);
      const request = new AbortController();
      const abort = () => request.abort();
      signal.addEventListener('abort', abort);
      slot.signal.addEventListener('abort', abort);
      let backoffMs = 0;
      try {
        const { data } = await client.query({
          query: AWAIT_TASK,
          variables: { id, timeout: slot.seconds, afterRevision },
          fetchPolicy: 'network-only',
          context: { fetchOptions: { signal: request.signal } },
        });
        failures = 0;
        const task = data?.awaitTask;
        if (!task || task.done) return;
        afterRevision = Math.max(afterRevision, task.revision);
      } catch (error) {
        if (signal.aborted) return;
        // Unless the pool cut the hold short (then ask again at once, with a shorter hold),
        // wait a little longer after each failure.
        if (!slot.signal.aborted) {
          failures++;
          backoffMs = Math.min(1_000 * 2 ** (failures - 1), 15_000);
          console.warn(`long-poll for task ${id} failed ${failures} time(s); retrying in ${backoffMs} ms`, error);
        }
      } finally {
        signal.removeEventListener('abort', abort);
        slot.release();
      }
      if (backoffMs > 0) await sleep(backoffMs, signal);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    stop();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
