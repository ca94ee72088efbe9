import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RefusalReason } from '../tasks/quotas.js';
import type { StatusCounts } from '../tasks/store.js';
import type { TaskServiceObserver } from '../tasks/service.js';

export interface MetricSources {
  /** Held long-polls (GraphQL and REST) and open subscription streams. */
  stats(): { waiters: number; subscriptions: number };
  webSocketConnections(): number;
  /** Gauges the storage engine reports about itself (SQLite's WAL size, say). */
  engineGauges: readonly { name: string; help: string; read(): number }[];
  taskCounts(): Promise<StatusCounts>;
}

/** Which part of the server answered an HTTP request: a label of bounded cardinality. */
export type Route = 'graphql' | 'rest' | 'metrics' | 'health' | 'dashboard';

export interface Metrics {
  registry: Registry;
  /** Counts into the write and refusal metrics; pass to the task service. */
  writes: Required<TaskServiceObserver>;
  /** A quota refused a request (`task_api_quota_refusals_total{reason}`). */
  refused(reason: RefusalReason): void;
  /** An HTTP request ended (answered, or its client left first: status `aborted`). */
  requestEnded(route: Route, method: string, status: number | 'aborted', seconds: number): void;
  /** A held long-poll was answered `seconds` after the commit that woke it. */
  woken(seconds: number): void;
}

/** Sub-millisecond buckets: a wake or a write is expected well under 1 ms. */
const FAST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Requests include long-polls held for up to a minute or more. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 60, 300];

/** The service's Prometheus registry: live gauges read at scrape time, and what the request and write paths count. */
export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  // The event-loop lag monitor wakes the process at this interval; prom-client's default of
  // 10 ms alone shows on an idle server's CPU (the `idle` benchmark). Once a second still shows lag.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1_000 });
  const registers = [registry];
  new Gauge({
    name: 'task_api_waiters',
    help: 'Long-polls (awaitTask, awaitTaskChanges, awaitTaskOutput, REST /wait and /output?wait=) being held.',
    registers,
    collect() {
      this.set(sources.stats().waiters);
    },
  });
  new Gauge({
    name: 'task_api_subscriptions',
    help: 'Open subscription streams, taskUpdated, taskChanges and taskOutput (WebSocket and SSE).',
    registers,
    collect() {
      this.set(sources.stats().subscriptions);
    },
  });
  new Gauge({
    name: 'task_api_websocket_connections',
    help: 'Open graphql-ws connections.',
    registers,
    collect() {
      this.set(sources.webSocketConnections());
    },
  });
  for (const gauge of sources.engineGauges) {
    new Gauge({
      name: gauge.name,
      help: gauge.help,
      registers,
      collect() {
        this.set(gauge.read());
      },
    });
  }
  new Gauge({
    name: 'task_api_tasks',
    help: 'Tasks stored, by status (all tenants).',
    labelNames: ['status'],
    registers,
    async collect() {
      for (const [status, count] of Object.entries(await sources.taskCounts())) this.set({ status }, count);
    },
  });
  const requests = new Histogram({
    name: 'task_api_http_request_duration_seconds',
    help: 'HTTP requests from arrival to the end of the response (long-polls include their wait), by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const wakes = new Histogram({
    name: 'task_api_wake_seconds',
    help: 'From the commit that ends a held long-poll (GraphQL awaitTask, awaitTaskOutput, awaitTaskChanges, or REST /wait) to its response handed to the socket.',
    buckets: FAST_BUCKETS,
    registers,
  });
  const writeCount = new Counter({
    name: 'task_api_writes_total',
    help: "Task writes by operation and outcome ('ok', the error code of a refusal, or 'error').",
    labelNames: ['operation', 'outcome'],
    registers,
  });
  const writeDuration = new Histogram({
    name: 'task_api_write_duration_seconds',
    help: 'Task writes from the call to the commit (or refusal), by operation.',
    labelNames: ['operation'],
    buckets: FAST_BUCKETS,
    registers,
  });

  // By reason only: not by tenant, key or address. Addresses and keys are unbounded (or
  // secret); tenants are as many as API_KEYS names, and a label for each would multiply the
  // series for every reason. Which tenant was refused is in the answer it got.
  const refusals = new Counter({
    name: 'task_api_quota_refusals_total',
    help: 'Requests refused by a quota (RESOURCE_EXHAUSTED), by reason: tenant_write_rate, tenant_queued_tasks, streams_per_key, streams_per_client, connections_per_client, connections_per_key.',
    labelNames: ['reason'],
    registers,
  });
  const refused = (reason: RefusalReason) => refusals.inc({ reason });
  const outputPages = new Counter({
    name: 'task_api_output_pages_read_total',
    help: 'Pages of task output that taskOutput streams read from storage (a stream that keeps up takes fresh chunks without a read).',
    registers,
  });

  return {
    registry,
    writes: {
      wrote(operation, seconds, outcome) {
        writeCount.inc({ operation, outcome });
        writeDuration.observe({ operation }, seconds);
      },
      refused,
      outputPageRead: () => outputPages.inc(),
    },
    refused,
    requestEnded(route, method, status, seconds) {
      requests.observe({ route, method, status }, seconds);
    },
    woken: (seconds) => wakes.observe(seconds),
  };
}
