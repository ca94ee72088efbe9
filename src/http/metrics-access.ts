import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './origins.js';

export interface MetricsRefusal {
  status: 401 | 403;
  code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  message: string;
}

/**
 * Who may read `/metrics` (task counts of every tenant, request rates, process details):
 * - with `METRICS_TOKEN`, whoever sends `Authorization: Bearer <token>` (compared in constant
 *   time, over SHA-256 digests so that lengths do not leak either); anyone else gets 401;
 * - without it, anyone when the server listens on a loopback `HOST` (as before: only this
 *   machine reaches it), and no one (403, naming METRICS_TOKEN) on any other address.
 */
export function createMetricsGate({ token, host }: { token: string | null; host: string }): (req: IncomingMessage) => MetricsRefusal | null {
  if (token === null) {
    if (isLoopbackHost(host)) return () => null;
    const refusal: MetricsRefusal = { status: 403, code: 'FORBIDDEN', message: 'Set METRICS_TOKEN to serve /metrics on a non-loopback HOST.' };
    return () => refusal;
  }
  const expected = digest(token);
  const refusal: MetricsRefusal = { status: 401, code: 'UNAUTHENTICATED', message: 'Authorization: Bearer <METRICS_TOKEN> is required.' };
  return (req) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return match && timingSafeEqual(digest(match[1]!), expected) ? null : refusal;
  };
}

const digest = (text: string) => createHash('sha256').update(text).digest();
