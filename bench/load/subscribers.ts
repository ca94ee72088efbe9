/**
 * Load process: graphql-ws subscribers over the `ws` package, one socket and one
 * `taskUpdated` subscription per task id (ids may repeat). It records the arrival of every
 * `next` after the first (the current state, which only says the subscription is live),
 * timestamped before anything is parsed, and parses the frames only when asked for them.
 */
import WebSocket from 'ws';
import { chunk } from '../lib/arrays.js';
import { wallNow } from '../lib/clock.js';
import { serveCommands } from '../lib/protocol.js';

const CONNECT_BATCH = 250;
const SUBSCRIPTION_ID = '1';
const NEXT = Buffer.from('"type":"next"');

export interface OpenArgs {
  /** `ws://127.0.0.1:<port>/graphql`. */
  url: string;
  /** One socket per entry. */
  ids: string[];
  /** A subscription taking `$id`. */
  query: string;
  timeoutMs: number;
}

/** One recorded event, parsed. */
export interface SubscriberEvents {
  /** Which socket (index into the ids given to `open`). */
  socket: number[];
  /** Wall ms when the frame arrived. */
  arrivedAt: number[];
  /** The task's `updatedAt` in the frame, epoch ms. */
  updatedAt: number[];
  revision: number[];
  message: (string | null)[];
}

let sockets: WebSocket[] = [];
let live = 0;
let failed = 0;
let recorded: { socket: number; arrivedAt: number; data: Buffer }[] = [];

function open(url: string, id: string, query: string, index: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    let subscribed = false;
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      resolve();
    });
    socket.on('message', (data: Buffer) => {
      const arrivedAt = wallNow();
      if (subscribed) {
        if (data.includes(NEXT)) recorded.push({ socket: index, arrivedAt, data });
        return;
      }
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: SUBSCRIPTION_ID, type: 'subscribe', payload: { query, variables: { id } } }));
      } else if (message.type === 'next') {
        subscribed = true;
        live++;
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'error') {
        failed++;
        socket.close();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!subscribed) failed++;
      resolve();
    });
    sockets.push(socket);
  });
}

/** Connects every socket and subscribes; resolves once each has its first event (or failed). */
async function openAll({ url, ids, query, timeoutMs }: OpenArgs): Promise<{ live: number; failed: number }> {
  const deadline = Date.now() + timeoutMs;
  for (const batch of chunk(ids.map((id, index) => ({ id, index })), CONNECT_BATCH)) {
    await Promise.all(batch.map(({ id, index }) => open(url, id, query, index)));
  }
  while (live + failed < ids.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return { live, failed };
}

/** Forgets what was recorded so far: the next measurement starts here. */
function mark(): void {
  recorded = [];
}

/** Waits until `count` events were recorded since `mark`, or `timeoutMs`; returns how many were. */
async function waitFor({ count, timeoutMs }: { count: number; timeoutMs: number }): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (recorded.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return recorded.length;
}

/** The events recorded since `mark`, parsed. */
function events(): SubscriberEvents {
  const parsed: SubscriberEvents = { socket: [], arrivedAt: [], updatedAt: [], revision: [], message: [] };
  for (const { socket, arrivedAt, data } of recorded) {
    const frame = JSON.parse(String(data)) as { type: string; payload?: { data?: { taskUpdated?: Record<string, unknown> } } };
    const task = frame.payload?.data?.taskUpdated;
    if (frame.type !== 'next' || !task) continue;
    parsed.socket.push(socket);
    parsed.arrivedAt.push(arrivedAt);
    parsed.updatedAt.push(Date.parse(String(task.updatedAt)));
    parsed.revision.push(Number(task.revision));
    parsed.message.push(typeof task.message === 'string' ? task.message : null);
  }
  return parsed;
}

async function close(): Promise<void> {
  for (const socket of sockets) socket.terminate();
  sockets = [];
  live = 0;
  failed = 0;
  recorded = [];
}

serveCommands({ open: openAll, mark, waitFor, events, close });
