import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { withCode } from '../graphql/errors.js';
import { resultJson } from '../graphql/execution.js';
import { executeOperation, prepareOperation, subscribeOperation, type GraphQLServer } from '../graphql/pipeline.js';
import { DomainError } from '../tasks/errors.js';
import { jsonDepthExceeds } from '../tasks/json-depth.js';
import type { Principal } from '../tasks/principal.js';
import type { StreamSlot } from '../tasks/service.js';
import type { Authenticate } from './auth.js';
import { TOO_DEEP_MESSAGE } from './body.js';
import type { Refusal } from './origins.js';

export interface WebSocketOptions {
  server: Server;
  yoga: GraphQLServer;
  authenticate: Authenticate;
  /** Checks an upgrade's `Host` and `Origin`: null to go on, or why it is refused (browsers send `Origin` on every upgrade). */
  admit: (request: IncomingMessage) => Refusal | null;
  path: string;
  maxConnections: number;
  /**
   * WebSocket connections per client address, counted from the upgrade on (a socket still in
   * its `connection_init` window counts): past it the upgrade is answered 429.
   */
  maxConnectionsPerClient: number;
  /**
   * Authenticated WebSocket connections per API key, counted from `connection_init` until the
   * socket closes: past it the socket is closed with 4429 and a reason that starts with
   * RESOURCE_EXHAUSTED. Open mode (no keys) has no key to count.
   */
  maxConnectionsPerKey: number;
  maxSubscriptionsPerConnection: number;
  /** A subscription's place under the per-client stream caps (SSE and WebSocket together); throws RESOURCE_EXHAUSTED when there is none. */
  reserveStream: (principal: Principal, client: string) => StreamSlot;
  /** Told of each upgrade refused because its address holds MAX_CONNECTIONS_PER_CLIENT sockets, and of each connection refused because its key holds MAX_CONNECTIONS_PER_KEY. */
  onRefused?: (reason: 'connections_per_client' | 'connections_per_key') => void;
  /** Largest incoming frame, in bytes. */
  maxPayloadBytes: number;
  /** Time allowed for `connection_init`, in ms; after it the socket closes with 4408. */
  initTimeoutMs: number;
  /** Ping interval, in ms: each ping wakes the process once per socket, so not too often. A peer that has not answered by the next ping is dropped. */
  keepAliveMs: number;
  log: Logger;
}

/** What graphql-ws hands the hooks as `ctx.extra`. */
interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
}

interface Connection {
  principal: Principal | null;
  /** The API key this connection is counted under in `connectionsByKey`, once `connection_init` authenticated it. */
  countedKey: string | null;
  /** One AbortController per running operation, aborted on `complete` and on close. */
  operations: Map<string, AbortController>;
}

/**
 * graphql-ws on the HTTP server's port. Every operation goes through the GraphQL pipeline
 * (`prepareOperation`, then envelop's execute or subscribe), with every plugin HTTP has.
 * A bad operation gets its errors without closing the socket, and every operation has its
 * own AbortSignal so a held `awaitTask` is released when the client completes it or leaves.
 *
 * graphql-ws's protocol core (`makeServer`) on a binding of our own rather than its
 * `useServer`, which writes every socket error to console.error as "Internal error ...
 * Please check your implementation." with its stack: ws raises one for each frame it refuses
 * (not UTF-8, over the size limit), which is the client's fault, already answered with the
 * close code that fits (1007, 1009). Here those are logged at debug; an error in our own
 * message handling is logged at error, and the client gets 4500 without its message.
 */
export function attachWebSockets({
  server,
  yoga,
  authenticate,
  admit,
  path,
  maxConnections,
  maxConnectionsPerClient,
  maxConnectionsPerKey,
  maxSubscriptionsPerConnection,
  reserveStream,
  onRefused = () => {},
  maxPayloadBytes,
  initTimeoutMs,
  keepAliveMs,
  log,
}: WebSocketOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes, handleProtocols });
  const connections = new WeakMap<WebSocket, Connection>();
  /** Each accepted operation's controller, by the `subscribe` message's payload (graphql-ws hands the same object to onComplete). */
  const controllers = new WeakMap<object, AbortController>();
  /** Sockets per client address, from the upgrade until the TCP connection closes, whether the handshake succeeded or not. */
  const socketsByAddress = new Map<string, number>();
  /** Authenticated connections per API key (its `keyId`), from `connection_init` until the socket closes. */
  const connectionsByKey = new Map<string, number>();

  /**
   * Answers an upgrade with the refusal's status and a JSON body carrying its GraphQL error, as
   * a refused HTTP request gets, and closes. Node's HTTP server no longer listens for errors
   * on a socket it hands over: a client that resets the connection meanwhile (read ECONNRESET)
   * is a client gone, where an `error` event nobody listened to would end the process.
   */
  const refuse = (socket: Duplex, { status, code, message }: UpgradeRefusal, headers = '') => {
    socket.on('error', (error) => log.debug({ err: error }, 'a client whose WebSocket upgrade was refused went away'));
    const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`,
    );
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = request.url ?? '/';
    // Node lets through targets URL cannot parse: thrown here, that would end the process.
    if (!URL.canParse(target, 'http://localhost')) return refuse(socket, { status: 400, code: 'BAD_REQUEST', message: 'The request target is not a valid URL.' });
    if (new URL(target, 'http://localhost').pathname !== path) {
      return refuse(socket, { status: 404, code: 'NOT_FOUND', message: `WebSocket connections are served on ${path} only.` });
    }
    const refusal = admit(request);
    if (refusal) return refuse(socket, refusal);
    const address = request.socket.remoteAddress ?? '';
    const held = socketsByAddress.get(address) ?? 0;
    if (held >= maxConnectionsPerClient) {
      onRefused('connections_per_client');
      const message = `This client address has ${maxConnectionsPerClient} WebSocket connections open, the most it may have; close one first.`;
      return refuse(socket, { status: 429, code: 'RESOURCE_EXHAUSTED', message }, 'Retry-After: 5\r\n');
    }
    socketsByAddress.set(address, held + 1);
    socket.once('close', () => {
      const left = socketsByAddress.get(address)! - 1;
      if (left === 0) socketsByAddress.delete(address);
      else socketsByAddress.set(address, left);
    });
    if (wss.clients.size >= maxConnections) {
      const message = 'The server holds as many WebSocket connections as it may; try again later.';
      return refuse(socket, { status: 503, code: 'RESOURCE_EXHAUSTED', message }, 'Retry-After: 5\r\n');
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  /**
   * graphql-ws serializes each message whole, by JSON.stringify, payload included. The result
   * serializes itself instead (once for all the subscribers of a shared event, see
   * `createSharedSubscribe`), and graphql-ws is handed a stand-in for it: its `toJSON` leaves
   * the payload out of the message and puts the result's JSON in `payloadJson`; `send`, which
   * graphql-ws calls with the message as soon as it is serialized, puts it back in as the
   * message's `payload`.
   */
  let payloadJson: string | null = null;
  const serializedByItself = (result: ExecutionResult): FormattedExecutionResult => {
    const json = resultJson(result);
    return {
      toJSON: () => {
        payloadJson = json;
        return undefined;
      },
    } as FormattedExecutionResult;
  };
  /** The message graphql-ws serialized, with the payload `serializedByItself` took out of it put back. */
  const withPayload = (data: string): string => {
    const payload = payloadJson;
    if (payload === null) return data;
    payloadJson = null;
    return `${data.slice(0, -1)},"payload":${payload}}`;
  };

  const graphqlWs = makeServer<Record<string, unknown> | undefined, Extra>({
    connectionInitWaitTimeout: initTimeoutMs,
    onConnect: (ctx) => {
      const connection = connections.get(ctx.extra.socket)!;
      const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      const principal = authenticate(typeof header === 'string' ? header : null);
      if (principal === null) return false;
      const key = principal.keyId;
      if (key !== undefined) {
        const held = connectionsByKey.get(key) ?? 0;
        if (held >= maxConnectionsPerKey) {
          onRefused('connections_per_key');
          // Closed here with the code of its own; graphql-ws's 4403 for a `false` then finds the socket closing, and is not sent.
          ctx.extra.socket.close(4429, `RESOURCE_EXHAUSTED: this API key has ${maxConnectionsPerKey} WebSocket connections open, its most.`);
          return false;
        }
        connectionsByKey.set(key, held + 1);
        connection.countedKey = key;
      }
      connection.principal = principal;
      return true;
    },

    onSubscribe: async (ctx, id, payload) => {
      const connection = connections.get(ctx.extra.socket)!;
      if (connection.operations.size >= maxSubscriptionsPerConnection) {
        return [
          new GraphQLError(`At most ${maxSubscriptionsPerConnection} operations at once on one connection.`, {
            extensions: { code: 'RESOURCE_EXHAUSTED' },
          }),
        ];
      }
      // The slot is taken before the first await: every message that arrives meanwhile counts it.
      const controller = new AbortController();
      connection.operations.set(id, controller);
      controllers.set(payload, controller);
      let accepted = false;
      try {
        if (jsonDepthExceeds(payload.variables) || jsonDepthExceeds(payload.extensions)) {
          return [new GraphQLError(TOO_DEEP_MESSAGE, { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        const client = ctx.extra.request.socket.remoteAddress ?? '';
        const principal = connection.principal!;
        // graphql-ws's request and socket ride along on the context, as Yoga's recipe passes them.
        const caller = { req: ctx.extra.request, socket: ctx.extra.socket, principal, signal: controller.signal, client };
        const prepared = prepareOperation(yoga, caller, payload);
        if (!('operation' in prepared)) return prepared.map(withCode);
        let streamSlot: StreamSlot | undefined;
        if (prepared.operation === 'subscription') {
          // Taken before the first await, like the operation's slot; its stream takes it over,
          // and the operation's end gives it back if no stream ever did.
          streamSlot = reserveStream(principal, client);
          controller.signal.addEventListener('abort', streamSlot, { once: true });
        }
        const args = await prepared.args(streamSlot);
        accepted = true;
        return args;
      } catch (error) {
        if (error instanceof GraphQLError) return [withCode(error)];
        if (error instanceof DomainError) return [new GraphQLError(error.message, { originalError: error, extensions: { code: error.code } })];
        throw error;
      } finally {
        if (!accepted) release(connection, id, controller);
      }
    },

    execute: executeOperation,
    subscribe: subscribeOperation,

    // `extensions.http` (an HTTP status) and `extensions.unexpected` (a masked error) are notes
    // to Yoga's HTTP answer, which strips them; they have no place in a WebSocket message.
    onNext: (_ctx, _id, _payload, _args, result) => (result.errors?.length ? withoutYogaNotes(result) : serializedByItself(result)),

    // Also for an operation the client completed early, whose id it may have used again since:
    // only this operation's own slot is freed.
    onComplete: (ctx, id, payload) => {
      const connection = connections.get(ctx.extra.socket);
      const controller = controllers.get(payload);
      if (connection && controller) release(connection, id, controller);
    },
  });

  wss.on('error', (error) => log.error({ err: error }, 'the WebSocket server failed'));
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection: Connection = { principal: null, countedKey: null, operations: new Map() };
    connections.set(socket, connection);
    socket.on('error', (error) => log.debug({ err: error }, 'a WebSocket frame was refused; the socket is closed'));
    const tcp = request.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      tcp.uncork();
    };
    /** A write that failed while the socket was open, for a reason other than the client leaving. */
    const failed = (error: Error | null | undefined) => error != null && socket.readyState === socket.OPEN && !isPeerGone(error);
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        // Frames sent in one turn of the event loop go out in one write (the socket is corked
        // until the turn's microtasks are done): a subscriber that fell behind, or a stream
        // served a page from storage, costs one system call per turn, not one per frame. The
        // next result is pulled at once while little is buffered for the socket; past
        // SEND_BUFFER_BYTES, only once this frame is written (a client that reads slowly holds
        // back its own operations, and the server holds a bounded amount for it).
        send: (message) => {
          const data = withPayload(message);
          if (socket.readyState !== socket.OPEN) return;
          if (!corked) {
            corked = true;
            tcp.cork();
            process.nextTick(uncork);
          }
          if (socket.bufferedAmount < SEND_BUFFER_BYTES) {
            socket.send(data, (error) => {
              if (!failed(error)) return;
              log.error({ err: error }, 'a WebSocket write failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
            return;
          }
          return new Promise<void>((resolve, reject) => {
            // A socket that closed meanwhile, or whose peer is gone while ws still calls it open
            // (its FIN, then a reset: EPIPE, ECONNRESET), is a client gone, not a failure of ours.
            socket.send(data, (error) => (failed(error) ? reject(error) : resolve()));
          });
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data, isBinary) => {
            const text = isBinary ? decodeBinary(data) : String(data);
            if (text === null) return socket.close(1007, 'Messages must be UTF-8.');
            const misdirected = serverMessageType(text);
            if (misdirected) return socket.close(CloseCode.BadRequest, `Unexpected message of type ${misdirected} received`);
            abortOnClientComplete(connection, text);
            try {
              await handle(text);
            } catch (error) {
              log.error({ err: error }, 'graphql-ws message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    let alive = true;
    socket.on('pong', () => (alive = true));
    const keepAlive = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, keepAliveMs);
    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      for (const controller of connection.operations.values()) controller.abort();
      connection.operations.clear();
      if (connection.countedKey !== null) {
        const left = connectionsByKey.get(connection.countedKey)! - 1;
        if (left === 0) connectionsByKey.delete(connection.countedKey);
        else connectionsByKey.set(connection.countedKey, left);
      }
      void closed(code, String(reason));
    });
  });

  return {
    connectionCount: () => wss.clients.size,
    /**
     * Closes every socket with 1001 (going away) and stops accepting upgrades; resolves once every
     * socket is closed. A peer that has not answered the close within `graceMs` (it does not read,
     * or is gone) is dropped then: ws itself would wait 30 s for it.
     */
    async close(graceMs: number): Promise<void> {
      server.off('upgrade', onUpgrade);
      for (const socket of wss.clients) socket.close(1001, 'Going away');
      const force = setTimeout(() => {
        for (const socket of wss.clients) socket.terminate();
      }, graceMs);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(force);
    },
  };
}

/** Why an upgrade is refused: its HTTP status, and the code and message of the GraphQL error in its body. */
interface UpgradeRefusal {
  status: number;
  code: string;
  message: string;
}

/** Bytes buffered for a socket (sent, not yet written) past which the next frame waits for its write. */
const SEND_BUFFER_BYTES = 64 * 1024;

const isPeerGone = (error: NodeJS.ErrnoException) => error.code === 'EPIPE' || error.code === 'ECONNRESET';

/** The result as sent, its errors without the extensions Yoga strips over HTTP (`http`, `unexpected`). */
function withoutYogaNotes(result: ExecutionResult): FormattedExecutionResult {
  return {
    ...result,
    errors: result.errors?.map((error) => {
      const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions;
      return { ...error.toJSON(), extensions };
    }),
  };
}

/** Aborts an operation and frees its slot, unless its id already names a later operation. */
function release(connection: Connection, id: string, controller: AbortController): void {
  controller.abort();
  if (connection.operations.get(id) === controller) connection.operations.delete(id);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A binary frame's text; null when it is not UTF-8 (ws checks text frames itself). */
function decodeBinary(data: Buffer | ArrayBuffer | Buffer[]): string | null {
  try {
    return utf8.decode(Array.isArray(data) ? Buffer.concat(data) : data);
  } catch {
    return null;
  }
}

/**
 * The type of a message only a server sends (`connection_ack`, `next`, `error`), when a client
 * sent one: graphql-ws throws on it as on a failure of its own, where the protocol asks for
 * 4400. A quick look at the text first, so that nearly every message is parsed once only.
 */
function serverMessageType(text: string): string | null {
  if (!text.includes('"connection_ack"') && !text.includes('"next"') && !text.includes('"error"')) return null;
  try {
    const { type } = JSON.parse(text) as { type?: unknown };
    return type === 'connection_ack' || type === 'next' || type === 'error' ? type : null;
  } catch {
    return null;
  }
}

/** A client's `complete` for a query or mutation in flight: graphql-ws has no hook for it. */
function abortOnClientComplete(connection: Connection, text: string): void {
  if (connection.operations.size === 0) return;
  if (!text.includes('"complete"')) return;
  try {
    const message = JSON.parse(text) as { type?: unknown; id?: unknown };
    if (message.type !== 'complete' || typeof message.id !== 'string') return;
    connection.operations.get(message.id)?.abort();
    connection.operations.delete(message.id);
  } catch {
    // graphql-ws answers malformed messages itself
  }
}
