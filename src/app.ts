import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { openStorage } from './db/storage.js';
import { createGraphQLServer } from './graphql/yoga.js';
import { createAuthenticator } from './http/auth.js';
import { BodyTooLargeError, bodyForYoga, readBody } from './http/body.js';
import { createDashboardHandler } from './http/dashboard.js';
import { createGraphQLHttpHandler } from './http/graphql-fast-path.js';
import { createMetrics } from './http/metrics.js';
import { sendJson } from './http/respond.js';
import { createRestHandler, REST_PREFIX } from './http/rest.js';
import { attachWebSockets } from './http/ws.js';
import { createTaskEvents } from './tasks/events.js';
import { createTaskService } from './tasks/service.js';

export const GRAPHQL_PATH = '/graphql';

export interface AppOptions {
  log?: Logger;
}

/**
 * The composition root: storage (SQLite or PostgreSQL) → events → service → GraphQL, REST,
 * WebSocket, dashboard → one HTTP server. It never listens; `main.ts` (or a test) does.
 */
export async function createApp(config: Readonly<Config>, { log = pino({ level: config.logLevel }) }: AppOptions = {}) {
  const storage = await openStorage(config, log);
  const events = createTaskEvents((error) => log.error({ err: error }, 'a task listener threw'));
  const tasks = createTaskService({
    store: storage.store,
    events,
    limits: {
      awaitTimeoutMaxSeconds: config.awaitTimeoutMaxSeconds,
      maxWaiters: config.maxWaiters,
      maxWaitersPerClient: config.maxWaitersPerClient,
      maxPayloadBytes: config.maxPayloadBytes,
      retentionHours: config.taskRetentionHours,
    },
    onError: (error, context) => log.error({ err: error, context }, 'background task work failed'),
  });
  await storage.shareEvents(events, tasks.noteLeaseExpiry);
  const authenticate = createAuthenticator(config.apiKeys);
  const yoga = createGraphQLServer({
    tasks,
    authenticate,
    log,
    graphiql: config.graphiql,
    introspection: config.introspection,
    endpoint: GRAPHQL_PATH,
    limits: config.operationLimits,
  });
  const rest = createRestHandler({ tasks, authenticate });
  const dashboard = createDashboardHandler();
  let closing = false;

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') {
        const ready = !closing && (await storage.isReady());
        return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
      }
      if (url.pathname === '/metrics') {
        const text = await metrics.metrics();
        res.writeHead(200, { 'content-type': metrics.contentType });
        return void res.end(text);
      }
      if (url.pathname.startsWith(REST_PREFIX)) return await rest(req, res, url);
      if (url.pathname !== GRAPHQL_PATH && (req.method === 'GET' || req.method === 'HEAD')) return dashboard(req, res);
      if (req.method === 'POST') {
        const body = await readBody(req, config.maxBodyBytes);
        Object.assign(req, { body: bodyForYoga(body, req.headers['content-type']) });
      }
      await graphql(req, res, url);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, { errors: [{ message: error.message, extensions: { code: 'BAD_USER_INPUT' } }] });
      }
      log.error({ err: error, method: req.method, path: url.pathname }, 'request failed');
      sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
    }
  });

  // A slow client cannot hold a socket: headers within 10 s, the whole request within 30 s.
  // A long-poll is unaffected: these bound receiving the request, not the wait for the answer.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  const ws = attachWebSockets({
    server,
    yoga,
    authenticate,
    path: GRAPHQL_PATH,
    maxConnections: config.maxConnections,
    maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    maxPayloadBytes: config.maxBodyBytes,
    initTimeoutMs: config.wsInitTimeoutMs,
    keepAliveMs: config.wsKeepAliveMs,
  });
  const metrics = createMetrics({ stats: tasks.stats, webSocketConnections: ws.connectionCount, walBytes: storage.walBytes });
  const graphql = createGraphQLHttpHandler({ yoga, endpoint: GRAPHQL_PATH, fastPath: config.graphqlFastPath, registry: metrics });

  return {
    server,
    yoga,
    tasks,
    events,
    storage,
    log,
    /**
     * Graceful stop: readiness turns 503, held long-polls are answered with the latest state,
     * streams end, WebSockets close with 1001, connections close (forced after `graceMs`),
     * then the database closes.
     */
    async close(graceMs = config.shutdownGraceMs): Promise<void> {
      if (closing) return;
      closing = true;
      tasks.close();
      await ws.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
      await closed;
      clearTimeout(force);
      await yoga.dispose();
      await storage.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
