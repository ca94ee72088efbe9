/**
 * `taskUpdated` over Server-Sent Events: a client that reconnects with the last revision it
 * saw (`afterRevision`) gets no gap and no duplicate; shutdown ends an open stream cleanly.
 */
import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { openSse as openSseStream } from '../helpers/clients.js';
import { completeTask, runningTask as createRunningTask, reportProgress } from '../helpers/tasks.js';

const t = useApp();

const SUBSCRIBE = `subscription($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { status progress revision } }`;

/**
 * An SSE subscription on a real socket. `done` resolves when the server ends the stream,
 * rejects if the connection breaks instead; `abort()` is the client leaving (then `done` resolves).
 */

/** An SSE subscription to SUBSCRIBE; `seen()`: each `next` event's revision, and 'complete' for the end. */
function openSse(url: string, variables: Record<string, unknown>) {
  const sse = openSseStream(url, SUBSCRIBE, variables);
  const seen = () => sse.events.map(({ event, data }) => (event === 'next' ? data.data.taskUpdated.revision : event));
  return { ...sse, seen };
}

const runningTask = () => createRunningTask(t.url, { kind: 'sse' });
const progress = (id: string, p: number) => reportProgress(t.url, id, p);
const complete = (id: string) => completeTask(t.url, id, 'r');

describe('SSE resume with afterRevision', () => {
  it('a client that leaves and comes back with its last revision gets the latest state next: no gap, no duplicate', async () => {
    const id = await runningTask();
    const first = openSse(t.url, { id });
    await expect.poll(first.seen).toEqual([2]);
    await progress(id, 10);
    await expect.poll(first.seen).toEqual([2, 3]);
    first.abort();
    await first.done;
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);

    // Changes while it was away.
    await progress(id, 20);
    await progress(id, 30);
    const resumed = openSse(t.url, { id, after: 3 });
    await expect.poll(resumed.seen).toEqual([5]);
    expect(resumed.events[0]!.data.data.taskUpdated).toEqual({ status: 'RUNNING', progress: 30, revision: 5 });
    await progress(id, 40);
    await expect.poll(resumed.seen).toEqual([5, 6]);
    await complete(id);
    await resumed.done;
    expect(resumed.seen()).toEqual([5, 6, 7, 'complete']);
  });

  it('resuming at the current revision sends nothing until the next change, then each change once', async () => {
    const id = await runningTask();
    await progress(id, 10);
    const resumed = openSse(t.url, { id, after: 3 });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(1);
    await progress(id, 20);
    await expect.poll(resumed.seen).toEqual([4]);
    await progress(id, 30);
    await expect.poll(resumed.seen).toEqual([4, 5]);
    await complete(id);
    await resumed.done;
    expect(resumed.seen()).toEqual([4, 5, 6, 'complete']);
    expect(resumed.events.slice(0, 3).map((event) => event.data.data.taskUpdated.progress)).toEqual([20, 30, 100]);
  });

  it('resuming a finished task at its last revision ends at once with no event', async () => {
    const id = await runningTask();
    const { data } = await complete(id);
    const resumed = openSse(t.url, { id, after: data.completeTask.revision });
    await resumed.done;
    expect(resumed.seen()).toEqual(['complete']);
    const behind = openSse(t.url, { id, after: data.completeTask.revision - 1 });
    await behind.done;
    expect(behind.seen()).toEqual([data.completeTask.revision, 'complete']);
  });
});

describe('SSE at shutdown', () => {
  it('app.close() ends an open stream cleanly: a complete event, then the end of the response', async () => {
    const id = await runningTask();
    const sse = openSse(t.url, { id });
    await expect.poll(sse.seen).toEqual([2]);
    await progress(id, 50);
    await expect.poll(sse.seen).toEqual([2, 3]);
    await t.app.close();
    await sse.done;
    expect(sse.seen()).toEqual([2, 3, 'complete']);
    expect(t.app.tasks.stats().subscriptions).toBe(0);
  });
});
