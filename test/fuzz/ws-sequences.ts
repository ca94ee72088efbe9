import fc from 'fast-check';
import WebSocket from 'ws';
import { operationArb } from './operations.js';
import { KEYS } from './requests.js';

/** One thing a graphql-ws client does on its socket. */
export type WsAction =
  | { kind: 'init'; payload: unknown }
  | { kind: 'subscribe'; id: string; payload: unknown }
  | { kind: 'complete'; id: string }
  | { kind: 'ping' | 'pong' }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array; frame: 'binary' | 'text' }
  | { kind: 'huge' }
  | { kind: 'close'; code: number }
  | { kind: 'terminate' };

export interface WsSequence {
  protocol: string | undefined;
  actions: WsAction[];
}

const idArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('a', 'b', 'c') }, fc.string({ maxLength: 10 }));

const initPayloadArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.values(KEYS)).map((key) => ({ authorization: `Bearer ${key}` })) },
  fc.constantFrom(undefined, null, {}, { authorization: 'Bearer nope' }, { Authorization: `Bearer ${KEYS.client}` }, { authorization: 42 }, 'x', []),
);

const subscribePayloadArb = fc.oneof(
  { weight: 8, arbitrary: operationArb },
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom({ query: 1 }, { query: '' }, { query: '{ __typename }', variables: [] }, { query: '{ __typename }', extensions: 'x' }, null),
);

/** Protocol messages in and out of order, garbage between them, and a client that leaves early. */
const actionArb: fc.Arbitrary<WsAction> = fc.oneof(
  { weight: 2, arbitrary: initPayloadArb.map((payload) => ({ kind: 'init' as const, payload })) },
  { weight: 8, arbitrary: fc.record({ id: idArb, payload: subscribePayloadArb }).map(({ id, payload }) => ({ kind: 'subscribe' as const, id, payload })) },
  { weight: 3, arbitrary: idArb.map((id) => ({ kind: 'complete' as const, id })) },
  { weight: 1, arbitrary: fc.constantFrom('ping' as const, 'pong' as const).map((kind) => ({ kind })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 50 }),
        fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
        fc.constantFrom('{"type":"subscribe"}', '{"type":"subscribe","id":"a"}', '{"type":"next","id":"a","payload":{}}', '{"type":"connection_ack"}', '{"type":"complete"}', '{"id":"a"}'),
        fc.integer({ min: 1, max: 100_000 }).map((levels) => `{"type":"subscribe","id":"d","payload":{"query":"{ __typename }","variables":{"v":${'['.repeat(levels)}${']'.repeat(levels)}}}}`),
      )
      .map((text) => ({ kind: 'text' as const, text })),
  },
  { weight: 1, arbitrary: fc.record({ bytes: fc.uint8Array({ maxLength: 30 }), frame: fc.constantFrom('binary' as const, 'text' as const) }).map(({ bytes, frame }) => ({ kind: 'bytes' as const, bytes, frame })) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'huge' as const }, { kind: 'terminate' as const }, { kind: 'close' as const, code: 1000 }, { kind: 'close' as const, code: 4000 }) },
);

export const wsSequenceArb: fc.Arbitrary<WsSequence> = fc.record({
  protocol: fc.oneof({ weight: 10, arbitrary: fc.constant('graphql-transport-ws') }, fc.constantFrom(undefined, 'graphql-ws', 'nope')),
  actions: fc.tuple(fc.boolean(), initPayloadArb, fc.array(actionArb, { maxLength: 12 })).map(([init, payload, rest]) => (init ? [{ kind: 'init' as const, payload }, ...rest] : rest)),
});

export interface WsOutcome {
  /** The close code and reason the client saw; null when the upgrade itself failed. */
  closed: { code: number; reason: string } | null;
  /** Every message the server sent, parsed (or the raw text when it was not JSON). */
  messages: unknown[];
  /** The id of each `subscribe` action sent, in order. */
  subscribed: string[];
  upgradeStatus?: number;
}

/**
 * Plays a sequence on a fresh socket, then closes it (1000) unless the sequence or the server
 * did; resolves once the socket is closed. Ends with a `ping` so that, when the socket is still
 * open, everything sent before it has been read by the server.
 */
export async function playWsSequence(url: string, { protocol, actions }: WsSequence, resolveRefs: (text: string) => string): Promise<WsOutcome> {
  const socket = new WebSocket(url, protocol === undefined ? [] : [protocol]);
  const messages: unknown[] = [];
  const subscribed: string[] = [];
  let upgradeStatus: number | undefined;
  socket.on('message', (data) => {
    const text = String(data);
    try {
      messages.push(JSON.parse(text));
    } catch {
      messages.push(text);
    }
  });
  socket.on('unexpected-response', (_request, response) => {
    upgradeStatus = response.statusCode;
    response.resume();
    socket.terminate();
  });
  const closed = new Promise<{ code: number; reason: string } | null>((resolve) => {
    socket.once('close', (code, reason) => resolve(upgradeStatus === undefined ? { code, reason: String(reason) } : null));
  });
  socket.on('error', () => {});
  const opened = await new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!opened) return { closed: await closed, messages, subscribed, upgradeStatus };

  for (const action of actions) {
    if (socket.readyState !== WebSocket.OPEN) break;
    if (action.kind === 'close') {
      socket.close(action.code);
      break;
    }
    if (action.kind === 'terminate') {
      socket.terminate();
      break;
    }
    socket.send(encode(action, resolveRefs), { binary: action.kind === 'bytes' && action.frame === 'binary' });
    if (action.kind === 'subscribe') subscribed.push(action.id);
  }
  if (socket.readyState === WebSocket.OPEN) {
    const pongs = () => messages.filter((message) => (message as { type?: unknown }).type === 'pong').length;
    const before = pongs();
    socket.send('{"type":"ping"}');
    await new Promise<void>((resolve) => {
      const check = () => {
        if (pongs() > before || socket.readyState !== WebSocket.OPEN) {
          socket.off('message', check);
          socket.off('close', check);
          resolve();
        }
      };
      socket.on('message', check);
      socket.on('close', check);
    });
    socket.close(1000);
  }
  return { closed: await closed, messages, subscribed, upgradeStatus };
}

function encode(action: Exclude<WsAction, { kind: 'close' | 'terminate' }>, resolveRefs: (text: string) => string): string | Uint8Array {
  switch (action.kind) {
    case 'init':
      return JSON.stringify({ type: 'connection_init', ...(action.payload === undefined ? {} : { payload: action.payload }) });
    case 'subscribe':
      return resolveRefs(JSON.stringify({ type: 'subscribe', id: action.id, payload: action.payload }));
    case 'complete':
      return JSON.stringify({ type: 'complete', id: action.id });
    case 'ping':
    case 'pong':
      return JSON.stringify({ type: action.kind });
    case 'text':
      return action.text;
    case 'bytes':
      return action.bytes;
    case 'huge':
      return 'x'.repeat(1_100_000);
  }
}
