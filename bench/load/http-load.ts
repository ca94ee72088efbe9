/**
 * Load process: closed-loop HTTP load with autocannon against one server. Latency
 * percentiles come from every response's own duration (sub-millisecond), not from
 * autocannon's whole-millisecond histogram.
 */
import autocannon from 'autocannon';
import { percentile } from '../lib/stats.js';
import { serveCommands } from '../lib/protocol.js';
import type { RequestTemplate } from '../lib/raw-http.js';

export interface HttpLoadArgs {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** One request, or several that each connection cycles through. */
  requests: RequestTemplate[];
  connections: number;
  durationSeconds: number;
  /** Also return every 2xx response's latency, so several load processes' runs can be merged. */
  keepLatencies?: boolean;
}

export interface HttpLoadResult {
  /** 2xx responses per second. */
  throughput: number;
  /** 2xx responses. */
  ok: number;
  /** Non-2xx responses, socket errors and timeouts. */
  failed: number;
  /** Latency percentiles, in ms. */
  p50: number;
  p99: number;
  /** How long the load ran, in s. */
  durationSeconds: number;
}

/** The result with every 2xx response's latency in ms, when asked for (`keepLatencies`). */
export interface HttpLoadResultWithLatencies extends HttpLoadResult {
  latencies?: number[];
}

async function run({ url, requests, connections, durationSeconds, keepLatencies = false }: HttpLoadArgs): Promise<HttpLoadResultWithLatencies> {
  const latencies: number[] = [];
  const instance = autocannon({
    url,
    connections,
    duration: durationSeconds,
    timeout: 30,
    requests: requests.map(({ method, path, headers, body }) => ({ method, path, headers, body })),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  return {
    throughput: result['2xx'] / result.duration,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    durationSeconds: result.duration,
    ...(keepLatencies ? { latencies } : {}),
  };
}

serveCommands({ run });
