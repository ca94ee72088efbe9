/**
 * Load process: a client that holds long-polls and subscriptions and then vanishes. It opens
 * raw TCP long-polls (REST `/wait` and GraphQL `awaitTask`, alternately) and graphql-ws
 * sockets with one `taskUpdated` subscription each on tasks that do not change, reports what
 * it holds, and waits to be SIGKILLed: the kernel then drops every socket at once, with no
 * close frame, no `complete` and nothing answered, as when a client process crashes.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';
import { chunk } from '../lib/arrays.js';
import { sleep } from '../lib/clock.js';
import { serveCommands } from '../lib/protocol.js';
import { parseResponse } from '../lib/raw-http.js';
import type { Faults } from './soak-traffic.js';

/** Opened in batches so that the server's accept queue never overflows (see long-polls.ts). */
const CONNECT_BATCH = 50;
const CONNECT_INTERVAL_MS = 25;
/** Longer than any holder lives: nothing it holds should be answered before it is killed. */
const HOLD_SECONDS = 600;

export interface HolderArgs {
  port: number;
  /** `ws://127.0.0.1:<port>/graphql`. */
  wsUrl: string;
  /** Tasks to wait on, used in turn; none of them changes while held. */
  ids: string[];
  longPolls: number;
  subscriptions: number;
  /** Give up waiting for the subscriptions to go live after this long, in ms. */
  timeoutMs: number;
}

/**
 * What the holder saw before it was killed. Its tasks never change, so every answer, every
 * close by the server and every error is a fault: a long-poll answered or closed counts as
 * `other` unless it was a 5xx or an INTERNAL_SERVER_ERROR.
 */
export interface HolderReport {
  heldLongPolls: number;
  heldSubscriptions: number;
  faults: Faults;
  /** The first faults, for the notes. */
  first: string[];
}

const report: HolderReport = {
  heldLongPolls: 0,
  heldSubscriptions: 0,
  faults: { status5xx: 0, internalErrors: 0, unexpectedCloses: 0, other: 0 },
  first: [],
};

function fault(kind: keyof Faults, what: string): void {
  report.faults[kind]++;
  if (report.first.length < 10) report.first.push(`${kind}: ${what.slice(0, 500)}`);
}

function longPollRequest(id: string, i: number): string {
  if (i % 2 === 0) return `GET /api/queue/poll/${id}/wait?timeout=${HOLD_SECONDS} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  const body = JSON.stringify({ query: `{ awaitTask(id: "${id}", timeout: ${HOLD_SECONDS}) { id done } }` });
  return `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function holdLongPoll(port: number, request: string): Promise<void> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    let answered = false;
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.write(request);
      report.heldLongPolls++;
      resolve();
    });
    socket.on('data', (part: Buffer) => {
      data = Buffer.concat([data, part]);
      const response = parseResponse(data);
      if (!response) return;
      answered = true;
      const what = `a held long-poll answered ${response.status}: ${response.body}`;
      if (response.status >= 500) fault('status5xx', what);
      else if (response.body.includes('INTERNAL_SERVER_ERROR')) fault('internalErrors', what);
      else fault('other', what);
      data = Buffer.alloc(0);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!answered) fault('other', 'the server closed a held long-poll without an answer');
      resolve();
    });
  });
}

/** One socket, one subscription; resolves once its first `next` (the current state) arrived, or it failed. */
function holdSubscription(url: string, id: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    let live = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') {
        const query = 'subscription Follow($id: ID!) { taskUpdated(id: $id) { id revision done } }';
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { id } } }));
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'error' || (message.type === 'next' && String(data).includes('"errors"'))) {
        fault(String(data).includes('INTERNAL_SERVER_ERROR') ? 'internalErrors' : 'other', `subscription ${message.type}: ${String(data)}`);
      } else if (message.type === 'next' && !live) {
        live = true;
        report.heldSubscriptions++;
        resolve();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      fault('unexpectedCloses', `WebSocket closed by the server: ${code} ${String(reason)}`);
      resolve();
    });
  });
}

async function hold({ port, wsUrl, ids, longPolls, subscriptions, timeoutMs }: HolderArgs): Promise<HolderReport> {
  const requests = Array.from({ length: longPolls }, (_, i) => longPollRequest(ids[i % ids.length]!, i));
  for (const batch of chunk(requests, CONNECT_BATCH)) {
    await Promise.all([...batch.map((request) => holdLongPoll(port, request)), sleep(CONNECT_INTERVAL_MS)]);
  }
  const live = Promise.all(Array.from({ length: subscriptions }, (_, i) => holdSubscription(wsUrl, ids[i % ids.length]!)));
  await Promise.race([live, sleep(timeoutMs)]);
  return { ...report };
}

serveCommands({ hold, report: () => ({ ...report }) });
