import { graphql } from './gql/index.js';
import type { FollowedChangeFragment, TaskFilter } from './gql/graphql.js';
import { sleep } from './sleep.js';
import { overSse, overWebSocket, post, type Endpoint, type GraphQLResult, type Transport } from './transport.js';

/** One change of the feed as `followTasks` yields it: the task at its latest state, and the cursor of that change. */
export type TaskChange = FollowedChangeFragment;

export type { TaskFilter } from './gql/graphql.js';

export interface FollowTasksOptions extends Endpoint {
  /** Only the tasks this admits (kinds, tags, statuses). @default every task of the caller's tenant */
  filter?: TaskFilter;
  /** Start right after this feed cursor (a change's `cursor`, a `changesCursor`). @default the beginning of the feed */
  after?: string;
  /** Tried in this order; the next one when a transport cannot connect. @default ['ws', 'sse', 'poll'] */
  transports?: Transport[];
  /** Long-poll timeout per request. @default 30 // seconds */
  pollTimeoutSeconds?: number;
  /** Changes per long-poll page. @default 100 */
  pageSize?: number;
  /** Wait before trying again after a transport failed without connecting, or connected and then dropped. @default 1000 // ms */
  retryDelayMs?: number;
  /** Rounds in a row in which no transport connected, before giving up. @default 30 */
  maxFailedRounds?: number;
  /** Called with the transport in use whenever it changes. */
  onTransport?: (transport: Transport) => void;
}

/** The server refused the feed itself (a malformed cursor, a missing key): trying again would not help. */
export class FeedRefusedError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FeedRefusedError';
    this.code = code;
  }
}

/** The codes after which the same request can only be refused again. */
const REFUSED = new Set(['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

graphql(`
  fragment FollowedChange on TaskChange { cursor task { ...FollowedTask tags } }
`);
const SUBSCRIPTION = graphql(`
  subscription FollowChanges($filter: TaskFilter, $after: String) { taskChanges(filter: $filter, after: $after) { ...FollowedChange } }
`);
const READ = graphql(`
  query ReadChanges($filter: TaskFilter, $after: String, $first: Int) { taskChanges(filter: $filter, after: $after, first: $first) { cursor changes { ...FollowedChange } } }
`);
const AWAIT = graphql(`
  query AwaitChanges($filter: TaskFilter, $after: String!, $timeout: Float, $first: Int) {
    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout, first: $first) { cursor changes { ...FollowedChange } }
  }
`);

interface Page {
  changes: TaskChange[];
  /** Where the next read starts. */
  cursor: string;
}

/**
 * The changes of the caller's tenant's change feed, in feed order, for as long as the caller
 * iterates: graphql-ws first (subscription `taskChanges`), Server-Sent Events when the WebSocket
 * cannot connect, `awaitTaskChanges` long-polling when neither can. After any disconnect or
 * fallback it resumes right after the last change it yielded, so it yields no change twice and
 * misses none (a task changed several times while it was away comes once, at its latest state).
 *
 * ```ts
 * for await (const change of followTasks({ url: 'http://127.0.0.1:4000/graphql', after: list.changesCursor })) render(change.task);
 * ```
 */
export async function* followTasks(options: FollowTasksOptions): AsyncGenerator<TaskChange, void, undefined> {
  const { transports = ['ws', 'sse', 'poll'], retryDelayMs = 1_000, maxFailedRounds = 30, signal } = options;
  let after = options.after ?? null;
  let failedRounds = 0;
  let current: Transport | null = null;

  while (!signal?.aborted) {
    let connected = false;
    let delivered = false;
    for (const transport of transports) {
      if (signal?.aborted) return;
      const opened = () => {
        connected = true;
        if (current !== transport) options.onTransport?.((current = transport));
      };
      try {
        after ??= await beginning(options);
        for await (const page of open(transport, options, after, opened)) {
          for (const change of page.changes) {
            after = change.cursor;
            delivered = true;
            yield change;
          }
          after = page.cursor;
        }
      } catch (error) {
        const refused = asRefused(error);
        if (refused) throw refused;
      }
      if (signal?.aborted) return;
      // A transport that connected, then broke (a restart, a dropped socket), is worth trying again from the top.
      if (connected) break;
    }
    failedRounds = connected ? 0 : failedRounds + 1;
    if (failedRounds >= maxFailedRounds) throw new Error(`followTasks: no transport reached ${options.url} in ${failedRounds} rounds.`);
    if (!delivered) await sleep(retryDelayMs, signal);
  }
}

/** The cursor of the feed's beginning: a page of none read from the start ends there. */
async function beginning(options: FollowTasksOptions): Promise<string> {
  return dataOf<Page>(await post(options, READ.toString(), { filter: options.filter, first: 0 }), 'taskChanges').cursor;
}

/** The changes after `after` over one transport, page by page; ends (or throws) when the connection does. */
async function* open(transport: Transport, options: FollowTasksOptions, after: string, opened: () => void): AsyncGenerator<Page, void> {
  const variables = { filter: options.filter, after };
  if (transport === 'poll') {
    for (let cursor = after; ; ) {
      const page = dataOf<Page>(await post(options, AWAIT.toString(), { ...variables, after: cursor, timeout: options.pollTimeoutSeconds ?? 30, first: options.pageSize ?? 100 }), 'awaitTaskChanges');
      opened();
      yield page;
      cursor = page.cursor;
    }
  }
  const results = transport === 'ws' ? overWebSocket(options, SUBSCRIPTION.toString(), variables, opened) : overSse(options, SUBSCRIPTION.toString(), variables, opened);
  for await (const result of results) {
    const change = dataOf<TaskChange>(result, 'taskChanges');
    yield { changes: [change], cursor: change.cursor };
  }
}

function dataOf<T>(result: GraphQLResult, field: string): T {
  if (result.errors?.length) throw asRefused(result.errors) ?? new Error(result.errors.map((error) => error.message).join('; '), { cause: result.errors });
  const value = result.data?.[field];
  if (value == null) throw new Error(`The server answered without ${field}.`);
  return value as T;
}

/** A `FeedRefusedError` when `error` is (or holds) GraphQL errors with a code that retrying cannot change. */
function asRefused(error: unknown): FeedRefusedError | null {
  if (error instanceof FeedRefusedError) return error;
  const errors = Array.isArray(error) ? (error as NonNullable<GraphQLResult['errors']>) : null;
  const refused = errors?.find((e) => REFUSED.has(e.extensions?.code ?? ''));
  return refused ? new FeedRefusedError(refused.extensions!.code!, refused.message, { cause: errors }) : null;
}
