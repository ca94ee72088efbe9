import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Route } from './metrics.js';

/** What the server keeps about one HTTP request while it runs. */
export interface RequestTrace {
  /**
   * The caller's `x-request-id` when it is a plain token (letters, digits, `_.:-`, at most
   * 128), else a new UUID: echoed in the response and on every log line about the request.
   */
  readonly id: string;
  readonly route: Route;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** `performance.now()` when the commit that ended the long-poll this request answers was published. */
  wokenAt?: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** A property of the request rather than a WeakMap entry: no ephemeron for the GC to track per request. */
const TRACE = Symbol('trace');

type TracedRequest = IncomingMessage & { [TRACE]?: RequestTrace };

export function startTrace(req: IncomingMessage, route: Route): RequestTrace {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  const trace: RequestTrace = { id, route, startedAt: performance.now(), wokenAt: undefined };
  (req as TracedRequest)[TRACE] = trace;
  return trace;
}

/** The trace `startTrace` made for this request, if any (none over WebSocket). */
export const traceOf = (req: unknown): RequestTrace | undefined => (req as TracedRequest | undefined)?.[TRACE];
