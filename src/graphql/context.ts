import type { Principal } from '../tasks/principal.js';
import type { StreamSlot, TaskService } from '../tasks/service.js';

/** What every resolver gets, over HTTP, SSE and WebSocket alike. */
export interface GraphQLContext {
  tasks: TaskService;
  principal: Principal;
  /** Aborts when the client goes away (HTTP request closed, WebSocket operation completed or socket closed). */
  signal: AbortSignal;
  /** The client's address, for per-client limits. */
  client: string;
  /** The HTTP request's trace, kept by the transport; none over WebSocket. */
  trace?: RequestNotes;
  /** Over graphql-ws, a subscription's place under the per-client stream caps, reserved before the operation ran: its stream takes it over. */
  streamSlot?: StreamSlot;
}

/** What a resolver notes on the HTTP request it answers, for the logs and `/metrics`. */
export interface RequestNotes {
  /** The request id, on every log line about it. */
  readonly id: string;
  /** `performance.now()` when the commit that ended the long-poll this request answers was published. */
  wokenAt?: number;
}
