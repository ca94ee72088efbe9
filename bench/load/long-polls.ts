/**
 * Load process: holds one long-poll per task id, each on its own raw TCP connection, and
 * records when each answer arrives (high-resolution wall clock) and the task's `updatedAt`
 * and `done` in it. Raw sockets keep the client's own cost per request small and its
 * timestamps close to the wire.
 */
import { connect, type Socket } from 'node:net';
import { chunk } from '../lib/arrays.js';
import { sleep, wallNow } from '../lib/clock.js';
import { serveCommands } from '../lib/protocol.js';
import { isDone, parseResponse, renderRequest, updatedAtOf, type RequestTemplate } from '../lib/raw-http.js';

/**
 * Connections are opened in batches, at most this many per interval: a connect completes
 * in the kernel before the server accepts it, so opening them all at once overflows the
 * server's accept queue (backlog 511) while it is busy with the first requests, and every
 * dropped SYN then waits a second to be retried.
 */
const CONNECT_BATCH = 50;
const CONNECT_INTERVAL_MS = 25;

export interface HoldArgs {
  port: number;
  /** The long-poll request, with `@@id@@` where the task id goes. */
  template: RequestTemplate;
  ids: string[];
}

export interface LongPollResults {
  /** Per id, in order: when its answer arrived (wall ms), NaN if none. */
  arrivedAt: number[];
  /** Per id: the answered task's `updatedAt` (epoch ms), NaN if none. */
  updatedAt: number[];
  /** Per id: whether the answer said the task is done. */
  done: boolean[];
  /** Connections that failed or closed without an answer. */
  failed: number;
}

let sockets: Socket[] = [];
let results: LongPollResults = { arrivedAt: [], updatedAt: [], done: [], failed: 0 };
let settled = 0;

function open(port: number, request: string, index: number): Promise<void> {
  return new Promise((resolve) => {
    let data: Buffer = Buffer.alloc(0);
    let finished = false;
    const finish = () => {
      if (!finished) settled++;
      finished = true;
    };
    const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      socket.write(request);
      resolve();
    });
    socket.on('data', (chunkIn: Buffer) => {
      const arrivedAt = wallNow();
      data = data.length === 0 ? chunkIn : Buffer.concat([data, chunkIn]);
      const response = parseResponse(data);
      if (!response || finished) return;
      results.arrivedAt[index] = arrivedAt;
      results.updatedAt[index] = updatedAtOf(response.body);
      results.done[index] = response.status === 200 && isDone(response.body);
      finish();
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (!finished) results.failed++;
      finish();
      resolve();
    });
    sockets.push(socket);
  });
}

/** Opens every connection and writes its request; resolves once all are written. */
async function hold({ port, template, ids }: HoldArgs): Promise<{ opened: number }> {
  sockets = [];
  settled = 0;
  results = {
    arrivedAt: new Array<number>(ids.length).fill(NaN),
    updatedAt: new Array<number>(ids.length).fill(NaN),
    done: new Array<boolean>(ids.length).fill(false),
    failed: 0,
  };
  const indexed = ids.map((id, index) => ({ id, index }));
  for (const batch of chunk(indexed, CONNECT_BATCH)) {
    await Promise.all([...batch.map(({ id, index }) => open(port, renderRequest(template, { id }), index)), sleep(CONNECT_INTERVAL_MS)]);
  }
  return { opened: sockets.length };
}

/** Waits until every connection was answered or failed, or `timeoutMs` passed; returns what arrived and closes the rest. */
async function collect({ timeoutMs }: { timeoutMs: number }): Promise<LongPollResults> {
  const deadline = Date.now() + timeoutMs;
  while (settled < sockets.length && Date.now() < deadline) await sleep(20);
  for (const socket of sockets) socket.destroy();
  sockets = [];
  return results;
}

serveCommands({ hold, collect });
