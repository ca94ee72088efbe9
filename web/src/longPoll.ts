import type { ApolloClient } from '@apollo/client';
import { sleep } from '../../src/client/sleep';
import type { LongPollPool } from './longPollPool';
import { AWAIT_TASK } from './operations';

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
      if (signal.aborted) {
        // The card went away while the connection was being handed over: give it back.
        slot.release();
        return;
      }
      if (slot.signal.aborted) {
        // The pool cut this hold before it was sent (more tasks came): ask again, for a short one.
        slot.release();
        continue;
      }
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
