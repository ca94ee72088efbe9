import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { runningTask as createRunningTask } from '../helpers/tasks.js';

const t = useApp();

const SUBSCRIBE = `subscription($id: ID!) { taskUpdated(id: $id) { status progress revision } }`;

/** Opens an SSE subscription on a real socket and parses its events as they arrive. */
function openSse(url: string, query: string, variables: Record<string, unknown>) {
  const abort = new AbortController();
  const events: { event: string; data: any }[] = [];
  const search = new URLSearchParams({ query, variables: JSON.stringify(variables) });
  const done = (async () => {
    const response = await fetch(`${url}/graphql?${search}`, {
      headers: { accept: 'text/event-stream', 'x-graphql-yoga-csrf': '1' },
      signal: abort.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) events.push({ event, data: data ? JSON.parse(data) : null });
      }
    }
  })().catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
  return { events, done, abort: () => abort.abort() };
}

const runningTask = () => createRunningTask(t.url, { kind: 'sse' });

describe('taskUpdated over Server-Sent Events', () => {
  it('streams the current state and each change, and ends after the final state', async () => {
    const id = await runningTask();
    const sse = openSse(t.url, SUBSCRIBE, { id });
    await expect.poll(() => sse.events.length).toBe(1);
    await t.gql(`mutation($id: ID!) { reportProgress(id: $id, progress: 70) { id } }`, { id });
    await expect.poll(() => sse.events.length).toBe(2);
    await t.gql(`mutation($id: ID!) { failTask(id: $id, message: "bad input file") { id } }`, { id });
    await sse.done;
    expect(sse.events.map((e) => e.event)).toEqual(['next', 'next', 'next', 'complete']);
    expect(sse.events.slice(0, 3).map((e) => e.data.data.taskUpdated)).toEqual([
      { status: 'RUNNING', progress: 0, revision: 2 },
      { status: 'RUNNING', progress: 70, revision: 3 },
      { status: 'FAILED', progress: 70, revision: 4 },
    ]);
  });

  it('an unknown id gives NOT_FOUND and the stream ends', async () => {
    const sse = openSse(t.url, SUBSCRIBE, { id: 'missing' });
    await sse.done;
    expect(sse.events[0]?.data.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(sse.events.at(-1)?.event).toBe('complete');
  });

  it('a client that disconnects leaves no stream or listener behind', async () => {
    const id = await runningTask();
    const sse = openSse(t.url, SUBSCRIBE, { id });
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(1);
    sse.abort();
    await sse.done;
    await expect.poll(() => t.app.tasks.stats().subscriptions).toBe(0);
  });
});
