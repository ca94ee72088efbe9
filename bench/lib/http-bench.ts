import { measureCpu } from './procfs.js';
import { quiesce } from './quiesce.js';
import type { LoadProcess } from './processes.js';
import type { RequestTemplate } from './raw-http.js';
import type { Server } from './servers.js';
import type { Settings } from './settings.js';
import type { HttpLoadResult } from '../load/http-load.js';

/** One closed-loop HTTP measurement, with the server's CPU over it. */
export interface HttpMeasurement extends HttpLoadResult {
  /** Server CPU per answered request, in µs. */
  cpuPerRequestUs: number;
}

/**
 * Once every child process is quiet, runs autocannon (in `load`) against `server` for
 * `seconds`, measuring the server's CPU meanwhile.
 */
export async function measureHttp(
  load: LoadProcess,
  server: Server,
  requests: RequestTemplate[],
  settings: Settings,
  seconds = settings.httpSeconds,
): Promise<HttpMeasurement> {
  await quiesce();
  const { result, cpuNs } = await measureCpu(server.pid, () =>
    load.call<HttpLoadResult>('run', { url: server.url, requests, connections: settings.connections, durationSeconds: seconds }),
  );
  return { ...result, cpuPerRequestUs: cpuNs / 1_000 / Math.max(1, result.ok) };
}

/** Unmeasured load on each server, so the rounds compare warm servers; nothing when `warmupSeconds` is 0. */
export async function warmUp(load: LoadProcess, targets: readonly { server: Server; requests: RequestTemplate[] }[], settings: Settings): Promise<void> {
  if (settings.warmupSeconds <= 0) return;
  for (const { server, requests } of targets) await measureHttp(load, server, requests, settings, settings.warmupSeconds);
}
