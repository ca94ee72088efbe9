import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { openStorage, type Storage } from './storage/index.js';
import { createGraphQLServer, GRAPHIQL_OPTIONS } from './graphql/pipeline.js';
import { createAuthenticator } from './http/auth.js';
import { DASHBOARD_CSP, GRAPHIQL_CSP, mayBeGraphiQL, setNoSniff, setPageHeaders } from './http/browser-headers.js';
import { BodyRefusedError, BodyTooLargeError, bodyForYoga, ClientGoneError, readBody } from './http/body.js';
import { createDashboardHandler, type DashboardHandler } from './http/dashboard.js';
import { createGraphiQLPage } from './http/graphiql-page.js';
import { createGraphQLHttpHandler } from './http/graphql-http.js';
import { createMetrics, type Route } from './http/metrics.js';
import { createMetricsGate } from './http/metrics-access.js';
import { corsForOrigins, createRequestGuard } from './http/origins.js';
import { startTrace, traceOf } from './http/request-trace.js';
import { sendJson } from './http/respond.js';
import { createRestHandler, REST_PREFIX } from './http/rest.js';
import { attachWebSockets } from './http/ws.js';
import { createTaskEvents } from './tasks/events.js';
import { createTaskService } from './tasks/service.js';
import { createLogger } from './log.js';

export const GRAPHQL_PATH = '/graphql';

export interface AppOptions {
  log?: Logger;
  /** Where the built dashboard is. @default DASHBOARD_DIR (web/dist) */
  dashboardDir?: string;
}

/**
 * The composition root: storage (SQLite or PostgreSQL) → events → service → GraphQL, REST,
 * WebSocket, dashboard → one HTTP server. It never listens; `main.ts` (or a test) does.
 */
export async function createApp(config: Readonly<Config>, { log = createLogger(config.logLevel), dashboardDir }: AppOptions = {}) {
  // First what opens nothing that would need closing: the dashboard's files are read into memory.
  const dashboard = await createDashboardHandler(dashboardDir);
  const storage = await openStorage({
    url: config.databaseUrl,
    sqliteSynchronous: config.sqliteSynchronous,
    walMaxBytes: config.walMaxBytes,
    poolSize: config.databasePoolSize,
    eventResyncMs: config.eventResyncMs,
    onWarning: (message, details) => log.warn(details, message),
  });
  try {
    return await assemble(config, storage, dashboard, log);
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/** Everything on top of the storage; a step that fails stops what the ones before it started. */
async function assemble(config: Readonly<Config>, storage: Storage, dashboard: DashboardHandler, log: Logger) {
  const metrics = createMetrics({
    stats: () => tasks.stats(),
    webSocketConnections: () => webSocketConnections(),
    engineGauges: storage.gauges,
    taskCounts: () => storage.store.countByStatus(),
  });
  let webSocketConnections = () => 0;
  const events = createTaskEvents((error) => log.error({ err: error }, 'a task listener threw'));
  const tasks = createTaskService({
    store: storage.store,
    events,
    limits: {
      awaitTimeoutMaxSeconds: config.awaitTimeoutMaxSeconds,
      maxWaiters: config.maxWaiters,
      maxWaitersPerClient: config.maxWaitersPerClient,
      maxPayloadBytes: config.maxPayloadBytes,
      maxOutputChunkBytes: config.maxOutputChunkBytes,
      maxOutputBytesPerTask: config.maxOutputBytesPerTask,
      retentionHours: config.taskRetentionHours,
      tenantWritesPerSecond: config.tenantWritesPerSecond,
      tenantWriteBurst: config.tenantWriteBurst,
      maxQueuedPerTenant: config.maxQueuedPerTenant,
      maxStreamsPerClient: config.maxStreamsPerClient,
      maxStreamsPerKey: config.maxStreamsPerKey,
    },
    onError: (error, context) => log.error({ err: error, context }, 'background task work failed'),
    observer: metrics.writes,
    cursorKey: config.cursorKey,
  });
  await storage.start(events, tasks.noteLeaseExpiry);
  tasks.start();
  /** How to stop what each step has started so far, undone in reverse when a later step throws. */
  const started: (() => unknown)[] = [() => tasks.close()];
  try {
    const authenticate = createAuthenticator(config.apiKeys);
    const guard = createRequestGuard({
      allowedOrigins: config.corsOrigins,
      checkHost: config.apiKeys.length === 0,
      acceptIpHosts: config.allowOpenOnNetwork,
      serverHost: config.host,
    });
    const metricsGate = createMetricsGate({ token: config.metricsToken, host: config.host });
    const yoga = createGraphQLServer({
      tasks,
      authenticate,
      log,
      graphiql: config.graphiql,
      introspection: config.introspection,
      endpoint: GRAPHQL_PATH,
      limits: config.operationLimits,
      registry: metrics.registry,
      cors: corsForOrigins(config.corsOrigins),
      notesOf: traceOf,
      compileAfter: config.graphqlCompileAfter,
    });
    started.push(() => yoga.dispose());
    const rest = createRestHandler({ tasks, authenticate });
    const graphiqlPage = createGraphiQLPage(() => renderGraphiQL(GRAPHIQL_OPTIONS));
    let closing = false;

    /** Once a response is done (or its client gone): the request's duration and, for a woken long-poll, its wake. */
    function onResponseClose(this: ServerResponse): void {
      const trace = traceOf(this.req)!;
      const endedAt = performance.now();
      metrics.requestEnded(trace.route, this.req.method ?? '', this.writableFinished ? this.statusCode : 'aborted', (endedAt - trace.startedAt) / 1000);
      if (trace.wokenAt !== undefined) metrics.woken((endedAt - trace.wokenAt) / 1000);
    }

    const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      const url = requestUrl(req);
      // What cannot be placed goes where any other request the server does not know goes: GraphQL.
      const route = url ? routeOf(url.pathname, req.method) : 'graphql';
      const trace = startTrace(req, route);
      res.setHeader('x-request-id', trace.id);
      res.once('close', onResponseClose);
      setNoSniff(res);
      try {
        if (!url) return refuse(res, route, { status: 400, code: 'BAD_REQUEST', message: 'The request target is not a valid URL.' });
        const refusal = guard(req);
        if (refusal) return refuse(res, route, refusal);
        if (route === 'dashboard') setPageHeaders(res, DASHBOARD_CSP);
        // Listed origins get CORS headers that others do not: a shared cache must keep them apart.
        if (route === 'graphql' && config.corsOrigins.length > 0) res.setHeader('vary', 'Origin');
        if (route === 'health') {
          if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
          const ready = !closing && (await storage.isReady());
          return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
        }
        if (route === 'metrics') {
          const denied = metricsGate(req);
          if (denied) {
            if (denied.status === 401) res.setHeader('www-authenticate', 'Bearer');
            return refuse(res, route, denied);
          }
          const text = await metrics.registry.metrics();
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          return void res.end(text);
        }
        if (route === 'rest') return await rest(req, res, url);
        if (route === 'dashboard') return dashboard(req, res);
        if (config.graphiql && mayBeGraphiQL(req)) {
          setPageHeaders(res, GRAPHIQL_CSP);
          return await graphiqlPage(req, res);
        }
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
        if (error instanceof ClientGoneError) {
          log.debug({ reqId: trace.id, method: req.method, path: url?.pathname }, 'client left before its request body was read');
          return;
        }
        if (error instanceof BodyRefusedError) {
          return sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code: error.code } }] });
        }
        log.error({ err: error, reqId: trace.id, method: req.method, path: url?.pathname }, 'request failed');
        refuse(res, route, { status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' });
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
      admit: guard,
      path: GRAPHQL_PATH,
      maxConnections: config.maxConnections,
      maxConnectionsPerClient: config.maxConnectionsPerClient,
      maxConnectionsPerKey: config.maxConnectionsPerKey,
      reserveStream: tasks.reserveStream,
      onRefused: metrics.refused,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      maxPayloadBytes: config.maxBodyBytes,
      initTimeoutMs: config.wsInitTimeoutMs,
      keepAliveMs: config.wsKeepAliveMs,
      log,
    });
    started.push(() => ws.close(0));
    webSocketConnections = ws.connectionCount;
    const graphql = createGraphQLHttpHandler({
      yoga,
      endpoint: GRAPHQL_PATH,
      fastPath: config.graphqlFastPath,
      authenticate,
      notesOf: traceOf,
      registry: metrics.registry,
    });

    return {
      server,
      yoga,
      tasks,
      events,
      storage,
      log,
      /**
       * Graceful stop: readiness turns 503, held long-polls are answered with the latest state,
       * streams end, WebSockets close with 1001, connections close (WebSockets and connections
       * still open `graceMs` after the start are cut), then the database closes.
       */
      async close(graceMs = config.shutdownGraceMs): Promise<void> {
        if (closing) return;
        closing = true;
        tasks.close();
        // The streams just ended send their `complete` on the next turns; then the 1001 close.
        await new Promise((resolve) => setImmediate(resolve));
        // One grace period for both: WebSocket peers that do not answer the close, then HTTP connections.
        const graceEnds = performance.now() + graceMs;
        await ws.close(graceMs);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), Math.max(graceEnds - performance.now(), 0)).unref();
        await closed;
        clearTimeout(force);
        await yoga.dispose();
        await storage.close();
      },
    };
  } catch (error) {
    // Every step is undone even if undoing one fails; the start's own error is what is thrown.
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch (stopError) {
        log.warn({ err: stopError }, 'undoing a step of a failed start failed');
      }
    }
    throw error;
  }
}

/**
 * The request's URL; null for a target Node lets through that URL cannot parse (an
 * absolute-form `http://[::1/graphql`), which would otherwise throw out of the handler.
 */
function requestUrl(req: IncomingMessage): URL | null {
  const target = req.url ?? '/';
  return URL.canParse(target, 'http://localhost') ? new URL(target, 'http://localhost') : null;
}

/** An error answered outside the handlers: a GraphQL error on the GraphQL route, the REST error shape elsewhere. */
function refuse(res: ServerResponse, route: Route, { status, code, message }: { status: number; code: string; message: string }): void {
  sendJson(res, status, route === 'graphql' ? { errors: [{ message, extensions: { code } }] } : { error: { code, message } });
}

function routeOf(path: string, method: string | undefined): Route {
  if (path === '/healthz' || path === '/readyz') return 'health';
  if (path === '/metrics') return 'metrics';
  if (path.startsWith(REST_PREFIX)) return 'rest';
  return path !== GRAPHQL_PATH && (method === 'GET' || method === 'HEAD') ? 'dashboard' : 'graphql';
}

export type App = Awaited<ReturnType<typeof createApp>>;
