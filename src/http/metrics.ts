import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface MetricSources {
  /** Held long-polls (GraphQL and REST) and open `taskUpdated` streams. */
  stats(): { waiters: number; subscriptions: number };
  webSocketConnections(): number;
  walBytes(): number;
}

/** A Prometheus registry whose gauges read the live counts at scrape time. */
export function createMetrics(sources: MetricSources): Registry {
  const registry = new Registry();
  // The event-loop lag monitor wakes the process at this interval; prom-client's default of
  // 10 ms alone costs ~0.4 % of a core on an idle server. Once a second still shows lag.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1_000 });
  new Gauge({
    name: 'task_api_waiters',
    help: 'Long-polls (awaitTask and REST /wait) being held.',
    registers: [registry],
    collect() {
      this.set(sources.stats().waiters);
    },
  });
  new Gauge({
    name: 'task_api_subscriptions',
    help: 'Open taskUpdated streams (WebSocket and SSE).',
    registers: [registry],
    collect() {
      this.set(sources.stats().subscriptions);
    },
  });
  new Gauge({
    name: 'task_api_websocket_connections',
    help: 'Open graphql-ws connections.',
    registers: [registry],
    collect() {
      this.set(sources.webSocketConnections());
    },
  });
  new Gauge({
    name: 'task_api_sqlite_wal_bytes',
    help: 'Size of the SQLite write-ahead log file.',
    registers: [registry],
    collect() {
      this.set(sources.walBytes());
    },
  });
  return registry;
}
