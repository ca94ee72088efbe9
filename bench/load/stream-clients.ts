/**
 * Load process for the feed and output scenarios: graphql-ws subscribers over the `ws`
 * package with any query and variables per socket (one subscription per socket), and
 * `awaitTaskChanges` long-poll waiters over HTTP, each re-issued from the cursor of its last
 * answer. Every delivery is timestamped on arrival, before anything is parsed; frames are
 * parsed only when asked for (`events`), or merely counted (`record: false`, for catch-up).
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { chunk } from '../lib/arrays.js';
import { wallNow } from '../lib/clock.js';
import { serveCommands } from '../lib/protocol.js';

const CONNECT_BATCH = 250;
const SUBSCRIPTION_ID = '1';
const NEXT = Buffer.from('"type":"next"');

export interface SubscribeArgs {
  url: string;
  /** One socket per entry. */
  variables: Record<string, unknown>[];
  query: string;
  /** Keep every frame for `events` (false: only count them and note the last arrival). */
  record: boolean;
}

export interface PollArgs {
  port: number;
  /** One waiter per entry: the kinds its filter admits. */
  kinds: string[][];
  /** The feed position every waiter starts after. */
  cursor: string;
}

/** What a frame or an answer carried, parsed: one entry per delivered item. */
export interface Deliveries {
  /** Which socket or waiter (index into the variables or kinds given). */
  receiver: number[];
  arrivedAt: number[];
  /** The task id (feed) or the seq (output) or the revision (taskUpdated). */
  key: (string | number)[];
  /** The send time the writer put into the item, in wall ms. */
  sentAt: number[];
}

let sockets: WebSocket[] = [];
let connected = 0;
let frames: { receiver: number; arrivedAt: number; data: Buffer }[] = [];
let counted = 0;
let lastArrival = NaN;
let firstArrival = NaN;

function note(receiver: number, data: Buffer, record: boolean): void {
  const arrivedAt = wallNow();
  if (Number.isNaN(firstArrival)) firstArrival = arrivedAt;
  lastArrival = arrivedAt;
  counted++;
  if (record) frames.push({ receiver, arrivedAt, data });
}

function open(url: string, query: string, variables: Record<string, unknown>, index: number, record: boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    let subscribed = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', (data: Buffer) => {
      if (subscribed && data.includes(NEXT)) return note(index, data, record);
      const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: SUBSCRIPTION_ID, type: 'subscribe', payload: { query, variables } }));
        subscribed = true;
        connected++;
        resolve();
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'error') {
        process.stderr.write(`subscription error: ${JSON.stringify(message.payload).slice(0, 300)}\n`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    sockets.push(socket);
  });
}

/** Connects every socket and sends its subscription; resolves with how many got that far. */
async function subscribe({ url, query, variables, record }: SubscribeArgs): Promise<number> {
  const start = sockets.length;
  for (const batch of chunk(variables.map((vars, k) => ({ vars, k })), CONNECT_BATCH)) {
    await Promise.all(batch.map(({ vars, k }) => open(url, query, vars, start + k, record)));
  }
  return connected;
}

const POLL = (kinds: string[], after: string) =>
  JSON.stringify({
    query: 'query Changes($kinds: [String!], $after: String!) { awaitTaskChanges(filter: { kinds: $kinds }, after: $after, timeout: 600, first: 100) { cursor changes { task { id input } } } }',
    variables: { kinds, after },
  });

let agent: Agent | null = null;
let polling = false;
let pollErrors = 0;

/** Starts the waiters; each re-issues its long-poll from the cursor of its last answer until `stopPolls`. */
function poll({ port, kinds, cursor }: PollArgs): void {
  agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  polling = true;
  const loop = (receiver: number, after: string) => {
    if (!polling || !agent) return;
    const req = request({ host: '127.0.0.1', port, agent, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const data = Buffer.concat(parts);
        note(receiver, data, true);
        const next = /"cursor":"([^"]+)"/.exec(String(data));
        if (res.statusCode !== 200 || !next) {
          pollErrors++;
          return;
        }
        loop(receiver, next[1]!);
      });
    });
    req.on('error', () => {
      if (polling) pollErrors++;
    });
    req.end(POLL(kinds[receiver]!, after));
  };
  kinds.forEach((_, receiver) => loop(receiver, cursor));
}

function stopPolls(): number {
  polling = false;
  agent?.destroy();
  agent = null;
  return pollErrors;
}

function mark(): void {
  frames = [];
  counted = 0;
  lastArrival = NaN;
  firstArrival = NaN;
}

/** Deliveries counted since `mark` (an answer or frame counts once, whatever it holds), and the first and last arrival. */
function count(): { count: number; firstArrival: number; lastArrival: number } {
  return { count: counted, firstArrival, lastArrival };
}

type Item = { task?: { id: string; input?: { s?: string } }; seq?: number; data?: string; revision?: number; message?: string };

/** Parses what was recorded since `mark`. */
function events(): Deliveries {
  const out: Deliveries = { receiver: [], arrivedAt: [], key: [], sentAt: [] };
  const push = (receiver: number, arrivedAt: number, key: string | number, sentAt: number) => {
    out.receiver.push(receiver);
    out.arrivedAt.push(arrivedAt);
    out.key.push(key);
    out.sentAt.push(sentAt);
  };
  for (const { receiver, arrivedAt, data } of frames) {
    const parsed = JSON.parse(String(data)) as { payload?: { data?: Record<string, Item> }; data?: { awaitTaskChanges?: { changes: Item[] } } };
    if (parsed.data?.awaitTaskChanges) {
      for (const { task } of parsed.data.awaitTaskChanges.changes) push(receiver, arrivedAt, task!.id, Number(task!.input?.s));
      continue;
    }
    const item = Object.values(parsed.payload?.data ?? {})[0];
    if (!item) continue;
    if (item.task) push(receiver, arrivedAt, item.task.id, Number(item.task.input?.s));
    else if (item.seq !== undefined) push(receiver, arrivedAt, item.seq, Number(item.data!.slice(0, item.data!.indexOf(' '))));
    else push(receiver, arrivedAt, item.revision!, Number(item.message));
  }
  return out;
}

function close(): void {
  for (const socket of sockets) socket.terminate();
  sockets = [];
  connected = 0;
  stopPolls();
  mark();
}

serveCommands({ subscribe, poll, stopPolls, mark, count, events, close });
