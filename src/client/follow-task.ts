import { createClient } from 'graphql-ws';
import { graphql } from './gql/index.js';
import type { FollowedTaskFragment, FollowTaskSubscription } from './gql/graphql.js';
import { sleep } from './sleep.js';

/** A task's state as `followTask` yields it (the fields of the contract's `Task`). */
export type TaskState = FollowedTaskFragment;

export type Transport = 'ws' | 'sse' | 'poll';

export interface FollowTaskOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  id: string;
  /** Sent as `Authorization: Bearer <key>` (and in graphql-ws's `connection_init`). */
  apiKey?: string;
  /** Ends the iteration (without an error) and closes whatever connection is open. */
  signal?: AbortSignal;
  /** Start after this revision: states at or below it are not yielded. */
  afterRevision?: number;
  /** Tried in this order; the next one when a transport cannot connect. @default ['ws', 'sse', 'poll'] */
  transports?: Transport[];
  /** The WebSocket URL. @default `url` with ws(s):// */
  wsUrl?: string;
  /** A WebSocket constructor where there is no global one (Node 20: the `ws` package). */
  webSocketImpl?: unknown;
  /** Long-poll timeout per request. @default 30 // seconds */
  pollTimeoutSeconds?: number;
  /** Wait between rounds when every transport failed (the server is down). @default 1000 // ms */
  retryDelayMs?: number;
  /** Rounds in a row in which no transport delivered anything, before giving up. @default 30 */
  maxFailedRounds?: number;
  /** Called with the transport in use whenever it changes. */
  onTransport?: (transport: Transport) => void;
}

/** The server said the task does not exist (or is not visible to this key). */
export class TaskNotFoundError extends Error {
  constructor(id: string, options?: ErrorOptions) {
    super(`No task with id "${id}".`, options);
    this.name = 'TaskNotFoundError';
  }
}

graphql(`
  fragment FollowedTask on Task {
    id kind status done progress message result error { message code details }
    attempts maxAttempts revision createdAt updatedAt startedAt completedAt
  }
`);
const SUBSCRIPTION = graphql(`
  subscription FollowTask($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { ...FollowedTask } }
`);
const AWAIT = graphql(`
  query AwaitTask($id: ID!, $after: Int, $timeout: Float) { awaitTask(id: $id, afterRevision: $after, timeout: $timeout) { ...FollowedTask } }
`);

/**
 * The states of one task, until its final state: graphql-ws first, Server-Sent Events when the
 * WebSocket cannot connect, `awaitTask` long-polling when neither can. After any disconnect it
 * resumes with `afterRevision` set to the last revision it yielded, so it yields no state twice
 * and misses none the server still holds (a fast writer may be conflated to its latest state).
 *
 * ```ts
 * for await (const task of followTask({ url: 'http://127.0.0.1:4000/graphql', id })) render(task);
 * ```
 */
export async function* followTask(options: FollowTaskOptions): AsyncGenerator<TaskState, void, undefined> {
  const { transports = ['ws', 'sse', 'poll'], retryDelayMs = 1_000, maxFailedRounds = 30, signal } = options;
  let lastRevision = options.afterRevision ?? 0;
  let failedRounds = 0;
  let current: Transport | null = null;

  while (!signal?.aborted) {
    let progressed = false;
    for (const transport of transports) {
      if (signal?.aborted) return;
      try {
        for await (const task of open(transport, options, lastRevision)) {
          if (current !== transport) options.onTransport?.((current = transport));
          if (task.revision > lastRevision) {
            lastRevision = task.revision;
            progressed = true;
            yield task;
          }
          if (task.done) return;
        }
      } catch (error) {
        if (error instanceof TaskNotFoundError) throw error;
      }
      if (signal?.aborted) return;
      // Ending without a final state (a restart, a dropped connection) counts as a failure.
      // A transport that delivered, then broke, is worth trying again from the top.
      if (progressed) break;
    }
    failedRounds = progressed ? 0 : failedRounds + 1;
    if (failedRounds >= maxFailedRounds) throw new Error(`followTask: no transport reached ${options.url} in ${failedRounds} rounds.`);
    if (!progressed) await sleep(retryDelayMs, signal);
  }
}

function open(transport: Transport, options: FollowTaskOptions, after: number): AsyncIterable<TaskState> {
  switch (transport) {
    case 'ws':
      return overWebSocket(options, after);
    case 'sse':
      return overSse(options, after);
    case 'poll':
      return byLongPolling(options, after);
  }
}

async function* overWebSocket(options: FollowTaskOptions, after: number): AsyncGenerator<TaskState> {
  const client = createClient({
    url: options.wsUrl ?? options.url.replace(/^http/, 'ws'),
    webSocketImpl: options.webSocketImpl,
    connectionParams: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : undefined,
    retryAttempts: 0,
    lazy: true,
  });
  const iterator = client.iterate<FollowTaskSubscription>({ query: SUBSCRIPTION.toString(), variables: { id: options.id, after } });
  const stop = () => void iterator.return?.();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const result of iterator) yield fromResult(result, 'taskUpdated', options.id);
  } catch (error) {
    throw asNotFound(error, options.id);
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await client.dispose();
  }
}

async function* overSse(options: FollowTaskOptions, after: number): AsyncGenerator<TaskState> {
  const search = new URLSearchParams({ query: SUBSCRIPTION.toString(), variables: JSON.stringify({ id: options.id, after }) });
  const response = await fetch(`${options.url}?${search}`, {
    headers: { accept: 'text/event-stream', 'x-graphql-yoga-csrf': '1', ...authorization(options) },
    signal: options.signal,
  });
  if (!response.ok || !response.body) throw new Error(`SSE answered ${response.status}.`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (/^event: complete$/m.test(block)) return;
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data) yield fromResult(JSON.parse(data) as GraphQLResult, 'taskUpdated', options.id);
    }
  }
  throw new Error('SSE stream ended before the task did.');
}

async function* byLongPolling(options: FollowTaskOptions, after: number): AsyncGenerator<TaskState> {
  let revision: number | null = after > 0 ? after : null;
  for (;;) {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorization(options) },
      body: JSON.stringify({
        query: AWAIT,
        // Without a revision yet, ask for the current state at once; then wait for changes.
        variables: { id: options.id, after: revision, timeout: revision === null ? 0 : (options.pollTimeoutSeconds ?? 30) },
      }),
      signal: options.signal,
    });
    if (!response.ok) throw new Error(`awaitTask answered ${response.status}.`);
    const task = fromResult((await response.json()) as GraphQLResult, 'awaitTask', options.id);
    yield task;
    revision = task.revision;
    if (task.done) return;
  }
}

interface GraphQLResult {
  data?: Record<string, TaskState | null> | null;
  errors?: readonly { message: string; extensions?: { code?: string } }[];
}

function fromResult(result: GraphQLResult, field: string, id: string): TaskState {
  if (result.errors?.some((error) => error.extensions?.code === 'NOT_FOUND')) throw new TaskNotFoundError(id, { cause: result.errors });
  if (result.errors?.length) throw new Error(result.errors.map((error) => error.message).join('; '), { cause: result.errors });
  const task = result.data?.[field];
  if (!task) throw new TaskNotFoundError(id);
  return task;
}

function asNotFound(error: unknown, id: string): unknown {
  const errors = Array.isArray(error) ? (error as GraphQLResult['errors']) : null;
  return errors?.some((e) => e.extensions?.code === 'NOT_FOUND') ? new TaskNotFoundError(id, { cause: errors }) : error;
}

const authorization = (options: FollowTaskOptions): Record<string, string> =>
  options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
