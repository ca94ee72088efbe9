import type { RequestTrace } from '../http/request-trace.js';
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
  /** The HTTP request's id and timings; none over WebSocket. */
  trace?: RequestTrace;
  /** Over graphql-ws, a subscription's place under the per-client stream caps, reserved before the operation ran: its stream takes it over. */
  streamSlot?: StreamSlot;
}
