import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, rawSocket, wsClient } from './helpers/clients.js';
import { gqlRequest, metric } from './helpers/graphql.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';

let server: ServerProcess | undefined;
let dir: string;
afterEach(() => {
  server?.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, query: string, variables: Record<string, unknown> = {}) => gqlRequest(url, query, variables);

describe('graceful shutdown', () => {
  it('SIGTERM answers held long-polls with the latest state, ends streams, closes sockets with 1001, exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tasks-'));
    server = await startServerProcess({ DATABASE_URL: join(dir, 'tasks.db') });
    const { url, wsUrl } = server;
    const id = (await post(url, `mutation { createTask(kind: "s") { id } }`)).data.createTask.id as string;

    const graphqlWait = post(url, `query($id: ID!) { awaitTask(id: $id, timeout: 60) { id status done revision } }`, { id });
    const restWait = fetch(`${url}/api/queue/poll/${id}/wait?timeout=60`).then(async (r) => ({ status: r.status, body: await r.json() }));
    const ws = wsClient(wsUrl);
    const subscription = collect(ws, `subscription($id: ID!) { taskUpdated(id: $id) { revision } }`, { id });
    const raw = await rawSocket(wsUrl);
    raw.send({ type: 'connection_init' });
    await expect.poll(() => metric(url, 'task_api_waiters')).toBe(2);
    await expect.poll(() => metric(url, 'task_api_subscriptions')).toBe(1);

    server.child.kill('SIGTERM');

    expect((await graphqlWait).data.awaitTask).toEqual({ id, status: 'QUEUED', done: false, revision: 1 });
    expect(await restWait).toMatchObject({ status: 200, body: { task_id: id, status: 'queued' } });
    expect((await raw.closed).code).toBe(1001);
    // The stream is completed by the server (a `complete` message) before the 1001 close.
    expect(await subscription.finished.then(() => 'completed', (error) => `closed: ${JSON.stringify(error?.code ?? error)}`)).toBe('completed');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.logs.map((entry) => entry.msg)).toContain('shutting down');
  });
});
