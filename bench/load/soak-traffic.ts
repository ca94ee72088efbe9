/**
 * Load process: the soak's mixed traffic, from `start` until `stop`. Task lifecycles begin at
 * a fixed rate: each task is created, watched (a GraphQL `awaitTask` until done, a REST
 * `/wait` chain that follows every change, a graphql-ws subscription on a shared socket; for
 * some tasks also a short-timeout `awaitTask` loop, a WebSocket of its own, an SSE stream),
 * claimed, given progress three times and completed, failed or cancelled. Some watchers leave
 * on the way: long-polls whose socket is destroyed mid-wait, subscriptions the client
 * completes, WebSockets terminated without a close frame, SSE streams aborted; one of the
 * shared sockets is terminated and replaced at an interval. Reads of recent tasks run beside
 * them at their own rate. Everything the server gets wrong is counted (`Faults`).
 */
import { setMaxListeners } from 'node:events';
import { Agent, request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { mulberry32 } from '../../src/demo.js';
import { wallNow } from '../lib/clock.js';
import { serveCommands } from '../lib/protocol.js';

export interface TrafficArgs {
  port: number;
  /** `ws://127.0.0.1:<port>/graphql`. */
  wsUrl: string;
  /** Task lifecycles begun per second; each makes 6 writes over about 20 s. */
  tasksPerSecond: number;
  /** `task(id)` over POST (9 in 10) and REST `GET /api/queue/poll/:id` (1 in 10), per second. */
  readsPerSecond: number;
  /** Long-lived graphql-ws sockets that carry one subscription per task between them. */
  poolSockets: number;
  /** One of them is terminated (no close frame) and replaced this often, in s. */
  poolRecycleSeconds: number;
  /** Tasks to read until this run's own exist. */
  readIds: string[];
  /** The kind of every task created, so that claims take only these. */
  kind: string;
  /** Seeds the choices (which watchers, who leaves and when, how a task ends). */
  seed: number;
}

/** What the server got wrong, as clients saw it: the soak's goal is none of any kind. */
export interface Faults {
  /** HTTP responses with status 500 or above. */
  status5xx: number;
  /** GraphQL errors with `INTERNAL_SERVER_ERROR`, over HTTP, SSE or WebSocket. */
  internalErrors: number;
  /** WebSockets the server closed (or reset) while the client still wanted them. */
  unexpectedCloses: number;
  /**
   * Anything else a client did not expect: a 4xx, another GraphQL error, a connection reset,
   * a stream that ended early, a wait that returned before its task was done.
   */
  other: number;
}

export interface TrafficCounts {
  /** From `start` to `stop`, in s. */
  seconds: number;
  tasks: { created: number; claimed: number; completed: number; failed: number; cancelled: number; duplicateCreates: number };
  /** Reads answered, and reads not sent because too many were in flight (the server fell behind). */
  reads: { answered: number; skipped: number };
  /** Writes answered (creates, claims, progress, completions, failures, cancellations). */
  writes: number;
  /** GraphQL `awaitTask` and REST `/wait` answers; those that timed out (short-timeout loop); those the client dropped mid-wait. */
  longPolls: { answered: number; timedOut: number; dropped: number };
  /** Subscriptions opened (WebSocket and SSE) and how they ended. */
  subscriptions: { opened: number; completedByServer: number; completedByClient: number; vanished: number };
  webSockets: { opened: number; closed: number; terminated: number };
  faults: Faults;
  /** The first faults, for the notes, each with its time in s from `start`. */
  first: string[];
  /** Requests sent again after their reused keep-alive connection failed before any answer: the connection's idle time, in ms. */
  keepAliveRetries: number[];
  /** When this process itself stopped running for over a second (a 100 ms timer came that late), in s from `start`, and for how long, in ms. */
  stalls: { t: number; ms: number }[];
}

const CREATE =
  'mutation Create($kind: String!, $input: JSON, $key: String) { createTask(kind: $kind, input: $input, idempotencyKey: $key, maxAttempts: 1) { id revision } }';
const CLAIM = 'mutation Claim($kinds: [String!], $worker: String!) { claimTask(kinds: $kinds, workerId: $worker, leaseSeconds: 120) { id revision } }';
const PROGRESS =
  'mutation Progress($id: ID!, $progress: Int!, $message: String, $worker: String) { reportProgress(id: $id, progress: $progress, message: $message, workerId: $worker) { id revision } }';
const COMPLETE = 'mutation Complete($id: ID!, $worker: String) { completeTask(id: $id, result: { ok: true }, workerId: $worker) { id status } }';
const FAIL = 'mutation Fail($id: ID!, $worker: String) { failTask(id: $id, message: "soak failure", code: "SOAK", workerId: $worker) { id status } }';
const CANCEL = 'mutation Cancel($id: ID!) { cancelTask(id: $id, reason: "soak cancel") { id status } }';
const READ = 'query Read($id: ID!) { task(id: $id) { id status progress message revision done updatedAt } }';
const AWAIT = 'query Await($id: ID!, $timeout: Float) { awaitTask(id: $id, timeout: $timeout) { id status revision done } }';
const FOLLOW = 'subscription Follow($id: ID!) { taskUpdated(id: $id) { id status revision done } }';

/** Longer than any lifecycle: a wait that returns before its task is done is a fault. */
const LONG_WAIT_SECONDS = 60;
/** The short-timeout loop's wait: most of its answers are timeouts. */
const SHORT_WAIT_SECONDS = 2;
/** Reads in flight beyond this are skipped and counted: an open loop must not pile up without end. */
const MAX_READS_IN_FLIGHT = 500;
/**
 * A reused connection that fails idle at least this long (ms) is taken to have met the
 * server's keep-alive timeout (5 s) as the request was written; the client's own agent lets a
 * connection idle for 2 s at most, so only a stalled client reaches it.
 */
const KEEP_ALIVE_RACE_MS = 4_000;
const STALL_CHECK_MS = 100;
/** A watcher that leaves does so after this long, in ms: from just after it started to after most tasks ended. */
const LEAVE_AFTER_MS: readonly [number, number] = [500, 20_000];

interface TaskRef {
  id: string;
  revision: number;
}

/** Marks the end of a subscription; `sawDone` is set once a `next` carried the final state. */
interface Watch {
  sawDone: boolean;
  end(how: 'completedByServer' | 'completedByClient' | 'vanished' | 'error'): void;
}

/** A long-lived graphql-ws socket carrying many subscriptions. */
interface PoolSocket {
  subscribe(operationId: string, taskId: string, watch: Watch): void;
  /** The client completes the subscription. */
  cancel(operationId: string): void;
  /** Gone without a close frame: every subscription on it vanishes. */
  terminate(): void;
  close(): void;
}

let args: TrafficArgs;
let counts: TrafficCounts;
let random: () => number;
let stopping = false;
let halt = new AbortController();
let startedAt = 0;
let pooled: Agent;
let held: Agent;
let pool: PoolSocket[] = [];
const inFlight = new Set<ClientRequest>();
/** When each keep-alive connection last went back to its agent's free list. */
const freedAt = new WeakMap<Socket, number>();
const ownSockets = new Set<WebSocket>();
const running = new Set<Promise<void>>();
const stoppers: (() => void)[] = [];
/** Recently created task ids, read at random. */
const recent: string[] = [];
let inFlightReads = 0;

const between = ([low, high]: readonly [number, number]) => low + random() * (high - low);
const chance = (p: number) => random() < p;

function emptyCounts(): TrafficCounts {
  return {
    seconds: 0,
    tasks: { created: 0, claimed: 0, completed: 0, failed: 0, cancelled: 0, duplicateCreates: 0 },
    reads: { answered: 0, skipped: 0 },
    writes: 0,
    longPolls: { answered: 0, timedOut: 0, dropped: 0 },
    subscriptions: { opened: 0, completedByServer: 0, completedByClient: 0, vanished: 0 },
    webSockets: { opened: 0, closed: 0, terminated: 0 },
    faults: { status5xx: 0, internalErrors: 0, unexpectedCloses: 0, other: 0 },
    first: [],
    keepAliveRetries: [],
    stalls: [],
  };
}

function fault(kind: keyof Faults, what: string): void {
  counts.faults[kind]++;
  const at = ((performance.now() - startedAt) / 1_000).toFixed(1);
  if (counts.first.length < 20) counts.first.push(`${kind} at ${at} s: ${what.slice(0, 500)}`);
}

/** An error payload: `INTERNAL_SERVER_ERROR` is a fault of its own, anything else is `other`. */
function graphqlFault(what: string, text: string): void {
  fault(text.includes('INTERNAL_SERVER_ERROR') ? 'internalErrors' : 'other', `${what}: ${text}`);
}

/** Waits `ms`; false once the traffic is stopping. */
async function pause(ms: number): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal: halt.signal });
    return true;
  } catch {
    return false;
  }
}

interface Answer {
  status: number;
  body: string;
  /** From the request's creation to its connection's TCP connect (0 on a reused one), to the request fully handed to the kernel, and to the answer; in ms. */
  timings: string;
}

/**
 * One HTTP exchange. Resolves with the answer; with 'dropped' when the client destroyed the
 * request (after `dropAfterMs`, or because the traffic is stopping); with null when the
 * connection failed otherwise, which is counted as a fault. A request that fails on a reused
 * keep-alive connection before any byte of an answer is sent once more on a fresh one: the
 * server closes a connection idle for its keep-alive timeout (5 s), and a request written as
 * it does so is never read (Node's docs advise this retry, `request.reusedSocket`); each is
 * counted with the connection's idle time, and is a fault unless that time was near 5 s.
 */
function exchange(agent: Agent, method: 'GET' | 'POST', path: string, body?: string, dropAfterMs?: number, retried = false): Promise<Answer | 'dropped' | null> {
  return new Promise((resolve) => {
    let dropped = false;
    let answered = false;
    let responded = false;
    let idleMs = 0;
    let failure = '';
    const createdAt = performance.now();
    let connectedAt = NaN;
    let writtenAt = NaN;
    const timings = () =>
      `connected ${(connectedAt - createdAt).toFixed(0)} ms, written ${(writtenAt - createdAt).toFixed(0)} ms, answered ${(performance.now() - createdAt).toFixed(0)} ms after the request was made`;
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = request({ host: '127.0.0.1', port: args.port, agent, method, path, headers }, (res) => {
      responded = true;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), timings: timings() });
      });
      res.on('error', () => undefined);
    });
    req.once('socket', (socket) => {
      const freed = freedAt.get(socket);
      idleMs = freed === undefined ? 0 : performance.now() - freed;
      if (socket.connecting) socket.once('connect', () => (connectedAt = performance.now()));
      else connectedAt = createdAt;
    });
    req.once('finish', () => (writtenAt = performance.now()));
    const timer =
      dropAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            dropped = true;
            req.destroy();
          }, dropAfterMs);
    inFlight.add(req);
    req.on('error', (error: NodeJS.ErrnoException) => {
      failure = error.code ?? error.message;
    });
    req.on('close', () => {
      clearTimeout(timer);
      inFlight.delete(req);
      if (answered) return;
      if (dropped || stopping) return resolve('dropped');
      const what = `${method} ${path}: the connection closed before the answer was complete (${failure || 'no error'}, ${req.reusedSocket ? `reused connection idle ${idleMs.toFixed(0)} ms` : 'new connection'}, ${responded ? 'answer begun' : 'no answer begun'})`;
      if (req.reusedSocket && !responded && !retried) {
        counts.keepAliveRetries.push(Math.round(idleMs));
        if (idleMs < KEEP_ALIVE_RACE_MS) fault('other', what);
        return resolve(exchange(agent, method, path, body, dropAfterMs, true));
      }
      fault('other', what);
      resolve(null);
    });
    req.end(body);
  });
}

/** The `data` of a GraphQL answer; null (and a fault counted) for a 5xx, any error, or no data. */
function dataOf<T>(what: string, { status, body }: Answer): T | null {
  if (status >= 500) {
    fault('status5xx', `${what}: ${status} ${body}`);
    return null;
  }
  if (body.includes('"errors"')) {
    graphqlFault(`${what} (HTTP ${status})`, body);
    return null;
  }
  try {
    const parsed = JSON.parse(body) as { data?: T };
    if (status === 200 && parsed.data) return parsed.data;
  } catch {
    // reported below
  }
  fault('other', `${what}: ${status} ${body}`);
  return null;
}

/** The `data` of a GraphQL answer with the request's timings in any fault it counts. */
function dataWithTimings<T>(what: string, answer: Answer): T | null {
  return dataOf<T>(`${what} (${answer.timings})`, answer);
}

async function graphql<T>(agent: Agent, what: string, query: string, variables: Record<string, unknown>, dropAfterMs?: number): Promise<T | null | 'dropped'> {
  const answer = await exchange(agent, 'POST', '/graphql', JSON.stringify({ query, variables }), dropAfterMs);
  return answer === null || answer === 'dropped' ? answer : dataWithTimings<T>(what, answer);
}

async function write<T>(what: string, query: string, variables: Record<string, unknown>): Promise<T | null> {
  const data = await graphql<T>(pooled, what, query, variables);
  if (data === 'dropped' || data === null) return null;
  counts.writes++;
  return data;
}

function remember(id: string): void {
  recent.push(id);
  if (recent.length > 1_000) recent.shift();
}

async function read(): Promise<void> {
  if (inFlightReads >= MAX_READS_IN_FLIGHT) {
    counts.reads.skipped++;
    return;
  }
  const id = recent[Math.floor(random() * recent.length)];
  if (id === undefined) return;
  inFlightReads++;
  try {
    if (chance(0.1)) {
      const answer = await exchange(pooled, 'GET', `/api/queue/poll/${id}`);
      if (answer === null || answer === 'dropped') return;
      if (answer.status >= 500) return fault('status5xx', `REST read (${answer.timings}): ${answer.status} ${answer.body}`);
      if (answer.status !== 200) return fault('other', `REST read (${answer.timings}): ${answer.status} ${answer.body}`);
    } else {
      const data = await graphql<{ task: TaskRef | null }>(pooled, 'task(id)', READ, { id });
      if (data === null || data === 'dropped') return;
      if (data.task === null) return fault('other', `task(${id}) is null`);
    }
    counts.reads.answered++;
  } finally {
    inFlightReads--;
  }
}

/** The worker's side: claim the oldest queued task of the kind, report progress three times, then end it. */
async function work(worker: string): Promise<void> {
  if (!(await pause(between([1_000, 2_000])))) return;
  const claimed = await write<{ claimTask: TaskRef | null }>('claimTask', CLAIM, { kinds: [args.kind], worker });
  if (!claimed) return;
  if (!claimed.claimTask) return fault('other', 'claimTask found nothing queued, though every lifecycle creates one task before it claims one');
  counts.tasks.claimed++;
  const { id } = claimed.claimTask;
  for (let step = 1; step <= 3; step++) {
    if (!(await pause(between([4_000, 6_000])))) return;
    await write('reportProgress', PROGRESS, { id, progress: step * 25, message: `step ${step}`, worker });
  }
  if (!(await pause(between([3_000, 5_000])))) return;
  const ending = random();
  if (ending < 0.8) {
    if (await write('completeTask', COMPLETE, { id, worker })) counts.tasks.completed++;
  } else if (ending < 0.9) {
    if (await write('failTask', FAIL, { id, worker })) counts.tasks.failed++;
  } else if (await write('cancelTask', CANCEL, { id })) counts.tasks.cancelled++;
}

/** GraphQL `awaitTask` with a timeout longer than the lifecycle: the answer must say done. 1 in 5 leaves mid-wait. */
async function awaitDone(id: string): Promise<void> {
  const dropAfterMs = chance(0.2) ? between(LEAVE_AFTER_MS) : undefined;
  const data = await graphql<{ awaitTask: TaskRef & { done: boolean } }>(held, 'awaitTask', AWAIT, { id, timeout: LONG_WAIT_SECONDS }, dropAfterMs);
  if (data === 'dropped') {
    if (!stopping) counts.longPolls.dropped++;
    return;
  }
  if (data === null) return;
  counts.longPolls.answered++;
  if (!data.awaitTask.done) fault('other', `awaitTask(${id}, timeout: ${LONG_WAIT_SECONDS}) returned before the task was done`);
}

/** GraphQL `awaitTask` with a 2 s timeout, again and again until the task is done: the timeout path. */
async function awaitLoop(id: string): Promise<void> {
  while (!stopping) {
    const data = await graphql<{ awaitTask: TaskRef & { done: boolean } }>(held, 'awaitTask (short)', AWAIT, { id, timeout: SHORT_WAIT_SECONDS });
    if (data === null || data === 'dropped') return;
    counts.longPolls.answered++;
    if (data.awaitTask.done) return;
    counts.longPolls.timedOut++;
  }
}

/** REST `/wait?after_revision=N`, again with each answer's revision, until the task is done: one answer per change. 1 in 5 leaves mid-wait. */
async function restChain(id: string): Promise<void> {
  const leaveAt = chance(0.2) ? performance.now() + between(LEAVE_AFTER_MS) : Infinity;
  let revision = 0;
  while (!stopping) {
    const dropAfterMs = Number.isFinite(leaveAt) ? Math.max(0, leaveAt - performance.now()) : undefined;
    const path = `/api/queue/poll/${id}/wait?timeout=${LONG_WAIT_SECONDS}&after_revision=${revision}`;
    const answer = await exchange(held, 'GET', path, undefined, dropAfterMs);
    if (answer === 'dropped') {
      if (!stopping) counts.longPolls.dropped++;
      return;
    }
    if (answer === null) return;
    if (answer.status >= 500) return fault('status5xx', `REST wait (${answer.timings}): ${answer.status} ${answer.body}`);
    if (answer.status !== 200) return fault('other', `REST wait (${answer.timings}): ${answer.status} ${answer.body}`);
    counts.longPolls.answered++;
    const task = JSON.parse(answer.body) as { status: string; revision: number };
    if (['completed', 'failed', 'cancelled'].includes(task.status)) return;
    if (task.revision <= revision) return fault('other', `REST wait after revision ${revision} returned revision ${task.revision} before its timeout`);
    revision = task.revision;
  }
}

/**
 * Handles one graphql-ws frame for a subscription; true once the subscription ended. A
 * `complete` from the server must come after a `next` with the final state.
 */
function onFrame(watch: Watch, message: { type: string; payload?: { data?: { taskUpdated?: { done?: boolean } } } }, text: string): boolean {
  if (message.type === 'next') {
    if (text.includes('"errors"')) graphqlFault('subscription next', text);
    else if (message.payload?.data?.taskUpdated?.done) watch.sawDone = true;
    return false;
  }
  if (message.type === 'error') {
    graphqlFault('subscription error', text);
    watch.end('error');
    return true;
  }
  if (message.type === 'complete') {
    if (!watch.sawDone) fault('other', 'the server completed a subscription before its final state');
    watch.end('completedByServer');
    return true;
  }
  return false;
}

function watchUntilEnd(): { watch: Watch; ended: Promise<void> } {
  let resolveEnded = () => {};
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  let over = false;
  const watch: Watch = {
    sawDone: false,
    end(how) {
      if (over) return;
      over = true;
      if (how !== 'error' && !stopping) counts.subscriptions[how]++;
      resolveEnded();
    },
  };
  counts.subscriptions.opened++;
  return { watch, ended };
}

const subscribeMessage = (operationId: string, taskId: string) =>
  JSON.stringify({ id: operationId, type: 'subscribe', payload: { query: FOLLOW, variables: { id: taskId } } });

function openPoolSocket(): PoolSocket {
  const socket = new WebSocket(args.wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
  counts.webSockets.opened++;
  const watches = new Map<string, Watch>();
  const queued: string[] = [];
  let acked = false;
  let byClient = false;
  const send = (message: string) => (acked ? socket.send(message) : queued.push(message));
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
  socket.on('message', (data: Buffer) => {
    const text = String(data);
    const message = JSON.parse(text) as { type: string; id?: string };
    if (message.type === 'connection_ack') {
      acked = true;
      for (const queuedMessage of queued.splice(0)) socket.send(queuedMessage);
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    } else {
      const watch = message.id === undefined ? undefined : watches.get(message.id);
      if (watch && onFrame(watch, message, text)) watches.delete(message.id!);
    }
  });
  socket.on('error', (error) => {
    if (!byClient && !stopping) fault('other', `shared WebSocket: ${error.message}`);
  });
  socket.on('close', (code, reason) => {
    if (!byClient && !stopping) fault('unexpectedCloses', `shared WebSocket closed by the server: ${code} ${String(reason)}`);
    for (const watch of watches.values()) watch.end('vanished');
    watches.clear();
  });
  return {
    subscribe(operationId, taskId, watch) {
      watches.set(operationId, watch);
      send(subscribeMessage(operationId, taskId));
    },
    cancel(operationId) {
      const watch = watches.get(operationId);
      if (!watch || byClient) return;
      watches.delete(operationId);
      send(JSON.stringify({ id: operationId, type: 'complete' }));
      watch.end('completedByClient');
    },
    terminate() {
      byClient = true;
      counts.webSockets.terminated++;
      socket.terminate();
    },
    close() {
      byClient = true;
      counts.webSockets.closed++;
      socket.close(1000);
    },
  };
}

/** A subscription on one of the shared sockets; 1 in 5 is completed by the client before the task ends. */
function pooledSubscription(n: number, id: string): Promise<void> {
  const { watch, ended } = watchUntilEnd();
  const socket = pool[n % pool.length]!;
  const operationId = `t${n}`;
  socket.subscribe(operationId, id, watch);
  if (chance(0.2)) {
    const timer = setTimeout(() => socket.cancel(operationId), between(LEAVE_AFTER_MS));
    void ended.then(() => clearTimeout(timer));
  }
  return ended;
}

/** A WebSocket of the task's own: connect, subscribe, close (1000) after the server completes; 1 in 3 is terminated mid-stream instead. */
function ownSocket(id: string): Promise<void> {
  const { watch, ended } = watchUntilEnd();
  const socket = new WebSocket(args.wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
  counts.webSockets.opened++;
  ownSockets.add(socket);
  let byClient = false;
  const leave = chance(1 / 3)
    ? setTimeout(() => {
        byClient = true;
        counts.webSockets.terminated++;
        socket.terminate();
      }, between(LEAVE_AFTER_MS))
    : undefined;
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
  socket.on('message', (data: Buffer) => {
    const text = String(data);
    const message = JSON.parse(text) as { type: string };
    if (message.type === 'connection_ack') socket.send(subscribeMessage('1', id));
    else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
    else if (onFrame(watch, message, text)) {
      byClient = true;
      counts.webSockets.closed++;
      socket.close(1000);
    }
  });
  const openedAt = performance.now();
  socket.on('error', (error) => {
    if (!byClient && !stopping) fault('other', `own WebSocket, ${(performance.now() - openedAt).toFixed(0)} ms after it was opened: ${error.message}`);
  });
  socket.on('close', (code, reason) => {
    clearTimeout(leave);
    ownSockets.delete(socket);
    if (!byClient && !stopping) fault('unexpectedCloses', `own WebSocket closed by the server: ${code} ${String(reason)}`);
    watch.end('vanished');
  });
  return ended;
}

/** The subscription over SSE (POST with `Accept: text/event-stream`) until its `complete` event; 1 in 4 is aborted mid-stream. */
function sseStream(id: string): Promise<void> {
  const { watch, ended } = watchUntilEnd();
  let aborted = false;
  let completed = false;
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream' };
  const req = request({ host: '127.0.0.1', port: args.port, agent: held, method: 'POST', path: '/graphql', headers }, (res) => {
    if (res.statusCode !== 200) {
      fault((res.statusCode ?? 0) >= 500 ? 'status5xx' : 'other', `SSE: HTTP ${res.statusCode}`);
      res.resume();
      return;
    }
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      buffer += text;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (\w+)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1] ?? '';
        if (event === 'next') onFrame(watch, { type: 'next', payload: JSON.parse(data) }, data);
        else if (event === 'complete') completed = onFrame(watch, { type: 'complete' }, data);
      }
    });
    res.on('error', () => undefined);
  });
  const leave = chance(0.25)
    ? setTimeout(() => {
        aborted = true;
        req.destroy();
      }, between(LEAVE_AFTER_MS))
    : undefined;
  inFlight.add(req);
  req.on('error', () => undefined);
  req.on('close', () => {
    clearTimeout(leave);
    inFlight.delete(req);
    if (!completed && !aborted && !stopping) fault('other', 'an SSE stream ended without its complete event');
    watch.end('vanished');
  });
  req.end(JSON.stringify({ query: FOLLOW, variables: { id } }));
  return ended;
}

/** One task from creation to its end, with its watchers; 1 in 10 creates is sent twice with its idempotency key. */
async function lifecycle(n: number): Promise<void> {
  const key = `soak-${args.seed}-${n}`;
  const variables = { kind: args.kind, input: { n }, key };
  const created = await write<{ createTask: TaskRef }>('createTask', CREATE, variables);
  if (!created) return;
  const { id } = created.createTask;
  counts.tasks.created++;
  remember(id);
  const watchers = [awaitDone(id), restChain(id), pooledSubscription(n, id)];
  if (chance(0.25)) watchers.push(awaitLoop(id));
  if (chance(0.25)) watchers.push(ownSocket(id));
  if (chance(0.25)) watchers.push(sseStream(id));
  if (chance(0.1)) {
    const again = await write<{ createTask: TaskRef }>('createTask (same idempotency key)', CREATE, variables);
    if (again && again.createTask.id !== id) fault('other', `createTask with key ${key} made a second task`);
    else if (again) counts.tasks.duplicateCreates++;
  }
  await work(`soak-worker-${process.pid}`);
  await Promise.all(watchers);
}

/** Calls `fire(i)` for i = 0, 1, 2 … at `ratePerSecond` (open loop) until the returned function is called. */
function every(ratePerSecond: number, fire: (i: number) => void): () => void {
  const start = wallNow();
  let next = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((wallNow() - start) / 1_000) * ratePerSecond);
    while (next < due) fire(next++);
  }, 10);
  return () => clearInterval(timer);
}

function track(work: Promise<void>): void {
  const tracked = work.catch((error: unknown) => fault('other', `client: ${error instanceof Error ? error.stack : String(error)}`));
  running.add(tracked);
  void tracked.finally(() => running.delete(tracked));
}

/** Notes every time this process's event loop comes back over a second late: the clients were not running, whatever the server did. */
function watchStalls(): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const lateMs = now - last - STALL_CHECK_MS;
    if (lateMs > 1_000 && counts.stalls.length < 200) counts.stalls.push({ t: Math.round((now - startedAt) / 100) / 10, ms: Math.round(lateMs) });
    last = now;
  }, STALL_CHECK_MS);
  return () => clearInterval(timer);
}

function start(given: TrafficArgs): void {
  args = given;
  counts = emptyCounts();
  random = mulberry32(given.seed);
  stopping = false;
  halt = new AbortController();
  // Every pending pause listens to it: hundreds at once, each removed when its pause ends.
  setMaxListeners(0, halt.signal);
  startedAt = performance.now();
  // FIFO spreads the requests over every connection, and a free one is closed after 2 s,
  // well before the server's keep-alive timeout (5 s) would close it under a request.
  pooled = new Agent({ keepAlive: true, maxSockets: 16, scheduling: 'fifo', timeout: 2_000 });
  pooled.on('free', (socket: Socket) => freedAt.set(socket, performance.now()));
  held = new Agent({ keepAlive: false });
  recent.splice(0, recent.length, ...given.readIds);
  pool = Array.from({ length: given.poolSockets }, openPoolSocket);
  stoppers.push(every(given.tasksPerSecond, (n) => track(lifecycle(n))));
  stoppers.push(every(given.readsPerSecond, () => track(read())));
  let recycled = 0;
  const recycle = setInterval(() => {
    const slot = recycled++ % pool.length;
    pool[slot]!.terminate();
    pool[slot] = openPoolSocket();
  }, given.poolRecycleSeconds * 1_000);
  stoppers.push(() => clearInterval(recycle));
  stoppers.push(watchStalls());
}

/** Stops beginning anything, then leaves: shared sockets closed (1000), own sockets terminated, every request destroyed. */
async function stop(): Promise<TrafficCounts> {
  stopping = true;
  halt.abort();
  for (const stopTimer of stoppers.splice(0)) stopTimer();
  counts.seconds = (performance.now() - startedAt) / 1_000;
  for (const socket of pool) socket.close();
  for (const socket of ownSockets) socket.terminate();
  for (const req of inFlight) req.destroy();
  pooled.destroy();
  held.destroy();
  await Promise.race([Promise.all(running), delay(10_000)]);
  return counts;
}

serveCommands({ start, stop, counts: () => ({ ...counts, seconds: (performance.now() - startedAt) / 1_000 }) });
