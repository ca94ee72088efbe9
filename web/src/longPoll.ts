import type { ApolloClient } from '@apollo/client';
import { sleep } from '../../src/client/sleep';
import type { LongPollPool } from './longPollPool';
import type { OutputFieldsFragment, TaskChangesSubscription, TaskFilter } from './gql/graphql';
import { AWAIT_TASK, AWAIT_TASK_CHANGES, AWAIT_TASK_OUTPUT } from './operations';

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

/**
 * Follows one task's output with `awaitTaskOutput(id, after, timeout)`, sharing the pool's
 * connections with the state long-polls, until the task is final and its last chunk was
 * handed to `onChunks`, or `signal` aborts. Each request asks for the chunks after the last
 * seq received, so a retry repeats nothing. The `task` read beside it comes back at once
 * (root fields run side by side): an empty answer with that task final and its `outputSeq`
 * already received ends the loop.
 */
export async function followOutputByLongPolling({
  client,
  pool,
  id,
  after,
  onChunks,
  signal,
}: {
  client: ApolloClient;
  pool: LongPollPool;
  id: string;
  after: number;
  onChunks: (chunks: OutputFieldsFragment[]) => void;
  signal: AbortSignal;
}): Promise<void> {
  const stop = pool.follow();
  let last = after;
  let failures = 0;
  try {
    while (!signal.aborted) {
      const slot = await pool.acquire(signal);
      if (signal.aborted || slot.signal.aborted) {
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
          query: AWAIT_TASK_OUTPUT,
          variables: { id, after: last, timeout: slot.seconds },
          fetchPolicy: 'no-cache',
          context: { fetchOptions: { signal: request.signal } },
        });
        failures = 0;
        const chunks = data?.awaitTaskOutput;
        if (!chunks) return;
        const fresh = chunks.filter((chunk) => chunk.seq > last);
        if (fresh.length > 0) {
          last = fresh.at(-1)!.seq;
          onChunks(fresh);
        } else if (data.task?.done && data.task.outputSeq <= last) {
          return;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (!slot.signal.aborted) {
          failures++;
          backoffMs = Math.min(1_000 * 2 ** (failures - 1), 15_000);
          console.warn(`output long-poll for task ${id} failed ${failures} time(s); retrying in ${backoffMs} ms`, error);
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

export type TaskChange = TaskChangesSubscription['taskChanges'];

/**
 * Follows the change feed with `awaitTaskChanges(filter, after, timeout)`, sharing the pool's
 * connections with the cards' long-polls, until `signal` aborts. Each request starts after the
 * cursor of the last page received (`after` first), so a retry (a restarted server, a dropped
 * connection) repeats nothing and misses nothing; `onChange` gets each change in feed order.
 */
export async function followChangesByLongPolling({
  client,
  pool,
  filter,
  after,
  onChange,
  signal,
}: {
  client: ApolloClient;
  pool: LongPollPool;
  filter: TaskFilter;
  after: string;
  onChange: (change: TaskChange) => void;
  signal: AbortSignal;
}): Promise<void> {
  const stop = pool.follow();
  let cursor = after;
  let failures = 0;
  try {
    while (!signal.aborted) {
      const slot = await pool.acquire(signal);
      if (signal.aborted || slot.signal.aborted) {
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
          query: AWAIT_TASK_CHANGES,
          variables: { filter, after: cursor, timeout: slot.seconds },
          fetchPolicy: 'no-cache',
          context: { fetchOptions: { signal: request.signal } },
        });
        failures = 0;
        if (!data) continue;
        for (const change of data.awaitTaskChanges.changes) onChange(change);
        cursor = data.awaitTaskChanges.cursor;
      } catch (error) {
        if (signal.aborted) return;
        if (!slot.signal.aborted) {
          failures++;
          backoffMs = Math.min(1_000 * 2 ** (failures - 1), 15_000);
          console.warn(`change-feed long-poll failed ${failures} time(s); retrying in ${backoffMs} ms`, error);
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
