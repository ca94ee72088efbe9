import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What the server keeps about one HTTP request while it runs. */
export interface RequestTrace {
  /**
   * The caller's `x-request-id` when it is a plain token (letters, digits, `_.:-`, at most
   * 128), else a new UUID: echoed in the response and on every log line about the request.
   */
  readonly id: string;
  /** `performance.now()` when the commit that ended the long-poll this request answers was published. */
  wokenAt?: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const traces = new WeakMap<IncomingMessage, RequestTrace>();

export function startTrace(req: IncomingMessage): RequestTrace {
  const given = req.headers['x-request-id'];
  const trace: RequestTrace = { id: typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID() };
  traces.set(req, trace);
  return trace;
}

/** The trace `startTrace` made for this request, if any (none over WebSocket). */
export const traceOf = (req: unknown): RequestTrace | undefined => (req ? traces.get(req as IncomingMessage) : undefined);

/** An `onWoken` for `awaitTask` that notes the wake on the request's trace (none: nothing to note). */
export function noteWokenOn(trace: RequestTrace | undefined): ((publishedAt: number) => void) | undefined {
  return trace && ((publishedAt) => void (trace.wokenAt = publishedAt));
}
