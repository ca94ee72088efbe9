import type { ApolloClient } from '@apollo/client';
import { sleep } from '../../src/client/sleep';
import type { LongPollPool } from './longPollPool';
import type { OutputFieldsFragment, TaskChangesSubscription, TaskFilter } from './gql/graphql';
import { AWAIT_TASK_CHANGES, AWAIT_TASK_OUTPUT } from './operations';

/**
 * Follows one task's output with `awaitTaskOutput(id, after, timeout)`, sharing the pool's
 * connections with the change feed's long-poll and the other open logs, until the task is final and its last chunk was
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
  let last = after;
  await pollInPool({
    pool,
    signal,
    label: `output long-poll for task ${id}`,
    poll: async (seconds, requestSignal) => {
      const { data } = await client.query({
        query: AWAIT_TASK_OUTPUT,
        variables: { id, after: last, timeout: seconds },
        fetchPolicy: 'no-cache',
        context: { fetchOptions: { signal: requestSignal } },
      });
      const chunks = data?.awaitTaskOutput;
      if (!chunks) return true;
      const fresh = chunks.filter((chunk) => chunk.seq > last);
      if (fresh.length > 0) {
        last = fresh.at(-1)!.seq;
        onChunks(fresh);
        return false;
      }
      return Boolean(data.task?.done && data.task.outputSeq <= last);
    },
  });
}

export type TaskChange = TaskChangesSubscription['taskChanges'];

/**
 * Follows the change feed with `awaitTaskChanges(filter, after, timeout)`, sharing the pool's
 * connections with the open output logs, until `signal` aborts. Each request starts after the
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
  let cursor = after;
  await pollInPool({
    pool,
    signal,
    label: 'change-feed long-poll',
    poll: async (seconds, requestSignal) => {
      const { data } = await client.query({
        query: AWAIT_TASK_CHANGES,
        variables: { filter, after: cursor, timeout: seconds },
        fetchPolicy: 'no-cache',
        context: { fetchOptions: { signal: requestSignal } },
      });
      if (!data) return false;
      for (const change of data.awaitTaskChanges.changes) onChange(change);
      cursor = data.awaitTaskChanges.cursor;
      return false;
    },
  });
}

/**
 * The loop every long-poll of the page runs: take a hold from the pool, run one request with
 * the hold's length (`poll`, aborted when the page or the pool cuts it), and go on until `poll`
 * says it is done or `signal` aborts. A hold the pool cut before it was sent is asked for again
 * at once (for a shorter one); a failed request is retried after a backoff that grows with
 * each failure in a row.
 */
async function pollInPool({
  pool,
  signal,
  label,
  poll,
}: {
  pool: LongPollPool;
  signal: AbortSignal;
  /** Names the long-poll in the console's warnings. */
  label: string;
  /** One request; resolves true when there is nothing more to follow. */
  poll: (seconds: number, requestSignal: AbortSignal) => Promise<boolean>;
}): Promise<void> {
  const stop = pool.follow();
  let failures = 0;
  try {
    while (!signal.aborted) {
      const slot = await pool.acquire(signal);
      if (signal.aborted || slot.signal.aborted) {
        // Given back: the follower went away while the connection was being handed over, or
        // the pool cut this hold before it was sent (more followers came).
        slot.release();
        continue;
      }
      const request = new AbortController();
      const abort = () => request.abort();
      signal.addEventListener('abort', abort);
      slot.signal.addEventListener('abort', abort);
      let backoffMs = 0;
      try {
        const done = await poll(slot.seconds, request.signal);
        failures = 0;
        if (done) return;
      } catch (error) {
        if (signal.aborted) return;
        // Unless the pool cut the hold short (then ask again at once, with a shorter hold),
        // wait a little longer after each failure.
        if (!slot.signal.aborted) {
          failures++;
          backoffMs = Math.min(1_000 * 2 ** (failures - 1), 15_000);
          console.warn(`${label} failed ${failures} time(s); retrying in ${backoffMs} ms`, error);
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
