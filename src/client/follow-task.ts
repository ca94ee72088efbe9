import { graphql } from './gql/index.js';
import type { FollowedOutputFragment, FollowedTaskFragment } from './gql/graphql.js';
import { sleep } from './sleep.js';
import { overSse as sseResults, overWebSocket as wsResults, post, type Endpoint, type GraphQLResult, type Transport } from './transport.js';

export type { Endpoint, Transport } from './transport.js';
// The feed of every task, followed the same way.
export { followTasks, FeedRefusedError, type FollowTasksOptions, type TaskChange, type TaskFilter } from './follow-tasks.js';

/** A task's state as `followTask` yields it (the fields of the contract's `Task`). */
export type TaskState = FollowedTaskFragment;

/** One chunk of a task's output as `followTask` yields it with `output: true`. */
export type OutputChunk = FollowedOutputFragment;

/** What `followTask` yields with `output: true`: the task's states and its output chunks, as they come. */
export type FollowEvent = { type: 'task'; task: TaskState } | { type: 'output'; chunk: OutputChunk };

export interface FollowTaskOptions extends Endpoint {
  id: string;
  /** Start after this revision: states at or below it are not yielded. */
  afterRevision?: number;
  /**
   * Also follow the task's output: yield `FollowEvent`s, the states and every output chunk
   * (each once, in seq order, resuming after the last seq yielded on any reconnect), until the
   * task is final and its last chunk was yielded. @default false
   */
  output?: boolean;
  /** With `output`, start after this seq. @default 0 */
  afterSeq?: number;
  /** Tried in this order; the next one when a transport cannot connect. @default ['ws', 'sse', 'poll'] */
  transports?: Transport[];
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
graphql(`
  fragment FollowedOutput on TaskOutput { seq stream data at }
`);
const OUTPUT_SUBSCRIPTION = graphql(`
  subscription FollowOutput($id: ID!, $after: Int) { taskOutput(id: $id, after: $after) { ...FollowedOutput } }
`);
const AWAIT_OUTPUT = graphql(`
  query AwaitOutput($id: ID!, $after: Int, $timeout: Float) { awaitTaskOutput(id: $id, after: $after, timeout: $timeout) { ...FollowedOutput } }
`);
const OUTPUT_END = graphql(`
  query OutputEnd($id: ID!) { task(id: $id) { done outputSeq } }
`);

/**
 * The states of one task, until its final state: graphql-ws first, Server-Sent Events when the
 * WebSocket cannot connect, `awaitTask` long-polling when neither can. After any disconnect it
 * resumes with `afterRevision` set to the last revision it yielded, so it yields no state twice
 * and misses none the server still holds (a fast writer may be conflated to its latest state).
 * With `output: true` it yields `FollowEvent`s: the states, and the task's output chunks
 * followed the same way (`taskOutput`, or `awaitTaskOutput`), resuming after the last seq.
 *
 * ```ts
 * for await (const task of followTask({ url: 'http://127.0.0.1:4000/graphql', id })) render(task);
 * for await (const event of followTask({ url, id, output: true })) if (event.type === 'output') print(event.chunk.data);
 * ```
 */
export function followTask(options: FollowTaskOptions & { output: true }): AsyncGenerator<FollowEvent, void, undefined>;
export function followTask(options: FollowTaskOptions & { output?: false }): AsyncGenerator<TaskState, void, undefined>;
export function followTask(options: FollowTaskOptions): AsyncGenerator<TaskState | FollowEvent, void, undefined> {
  const states = resumable<TaskState>(options, options.afterRevision ?? 0, {
    open: openStates,
    position: (task) => task.revision,
    isLast: (task) => task.done,
  });
  if (!options.output) return states;
  const chunks = resumable<OutputChunk>(options, options.afterSeq ?? 0, { open: openOutput, position: (chunk) => chunk.seq, isLast: () => false });
  return merge<FollowEvent>(
    mapped(states, (task) => ({ type: 'task', task })),
    mapped(chunks, (chunk) => ({ type: 'output', chunk })),
  );
}

interface Followed<T> {
  /** Items after `after` over one transport; returns true when nothing more will come (the end was confirmed). */
  open(transport: Transport, options: FollowTaskOptions, after: number): AsyncGenerator<T, boolean>;
  /** Where an item stands: items at or below the last one yielded are not yielded again. */
  position(item: T): number;
  /** Whether this item is the last one. */
  isLast(item: T): boolean;
}

/** Items of one kind over the transports in turn, resuming after the last one yielded. */
async function* resumable<T>(options: FollowTaskOptions, start: number, followed: Followed<T>): AsyncGenerator<T, void, undefined> {
  const { transports = ['ws', 'sse', 'poll'], retryDelayMs = 1_000, maxFailedRounds = 30, signal } = options;
  let last = start;
  let failedRounds = 0;
  let current: Transport | null = null;

  while (!signal?.aborted) {
    let progressed = false;
    for (const transport of transports) {
      if (signal?.aborted) return;
      const items = followed.open(transport, options, last);
      try {
        for (let step = await items.next(); ; step = await items.next()) {
          if (step.done) {
            if (step.value) return;
            break;
          }
          const item = step.value;
          if (current !== transport) options.onTransport?.((current = transport));
          if (followed.position(item) > last) {
            last = followed.position(item);
            progressed = true;
            yield item;
          }
          if (followed.isLast(item)) return;
        }
      } catch (error) {
        if (error instanceof TaskNotFoundError) throw error;
      } finally {
        // Closes the transport's connection, however this round ended.
        await items.return(false);
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

async function* mapped<T, U>(items: AsyncGenerator<T, void, undefined>, map: (item: T) => U): AsyncGenerator<U, void, undefined> {
  for await (const item of items) yield map(item);
}

/** The items of both generators as each yields them; ends when both have, throws when either throws (ending the other). */
async function* merge<T>(...sources: AsyncGenerator<T, void, undefined>[]): AsyncGenerator<T, void, undefined> {
  const pending = new Map(sources.map((source) => [source, source.next().then((step) => ({ source, step }))]));
  try {
    while (pending.size > 0) {
      const { source, step } = await Promise.race(pending.values());
      if (step.done) {
        pending.delete(source);
        continue;
      }
      pending.set(source, source.next().then((next) => ({ source, step: next })));
      yield step.value;
    }
  } finally {
    await Promise.all(sources.map((source) => source.return(undefined).catch(() => {})));
  }
}

function openStates(transport: Transport, options: FollowTaskOptions, after: number): AsyncGenerator<TaskState, boolean> {
  switch (transport) {
    case 'ws':
      return overWebSocket(options, SUBSCRIPTION.toString(), 'taskUpdated', after);
    case 'sse':
      return overSse(options, SUBSCRIPTION.toString(), 'taskUpdated', after);
    case 'poll':
      return byLongPolling(options, after);
  }
}

/**
 * The output chunks after `after`. A subscription that completes means the task is final and
 * its last chunk was sent, unless the server was shutting down: a read of the task confirms it.
 */
async function* openOutput(transport: Transport, options: FollowTaskOptions, after: number): AsyncGenerator<OutputChunk, boolean> {
  if (transport === 'poll') return yield* outputByLongPolling(options, after);
  let last = after;
  const chunks = transport === 'ws' ? overWebSocket<OutputChunk>(options, OUTPUT_SUBSCRIPTION.toString(), 'taskOutput', after) : overSse<OutputChunk>(options, OUTPUT_SUBSCRIPTION.toString(), 'taskOutput', after);
  for await (const chunk of chunks) {
    last = Math.max(last, chunk.seq);
    yield chunk;
  }
  return isOutputEnd(options, last);
}

async function* outputByLongPolling(options: FollowTaskOptions, after: number): AsyncGenerator<OutputChunk, boolean> {
  for (let last = after; ; ) {
    const result = await post(options, AWAIT_OUTPUT.toString(), { id: options.id, after: last, timeout: options.pollTimeoutSeconds ?? 30 });
    const chunks = fromResult<OutputChunk[]>(result, 'awaitTaskOutput', options.id);
    for (const chunk of chunks) {
      last = Math.max(last, chunk.seq);
      yield chunk;
    }
    if (chunks.length === 0 && (await isOutputEnd(options, last))) return true;
  }
}

/** Whether the task is final and its last chunk is at or before `last`. */
async function isOutputEnd(options: FollowTaskOptions, last: number): Promise<boolean> {
  const task = fromResult<{ done: boolean; outputSeq: number }>(await post(options, OUTPUT_END.toString(), { id: options.id }), 'task', options.id);
  return task.done && task.outputSeq <= last;
}

async function* overWebSocket<T = TaskState>(options: FollowTaskOptions, query: string, field: string, after: number): AsyncGenerator<T, boolean> {
  try {
    for await (const result of wsResults(options, query, { id: options.id, after })) yield fromResult<T>(result, field, options.id);
    return false;
  } catch (error) {
    throw asNotFound(error, options.id);
  }
}

async function* overSse<T = TaskState>(options: FollowTaskOptions, query: string, field: string, after: number): AsyncGenerator<T, boolean> {
  for await (const result of sseResults(options, query, { id: options.id, after })) yield fromResult<T>(result, field, options.id);
  return false;
}

async function* byLongPolling(options: FollowTaskOptions, after: number): AsyncGenerator<TaskState, boolean> {
  let revision: number | null = after > 0 ? after : null;
  for (;;) {
    // Without a revision yet, ask for the current state at once; then wait for changes.
    const variables = { id: options.id, after: revision, timeout: revision === null ? 0 : (options.pollTimeoutSeconds ?? 30) };
    const task = fromResult<TaskState>(await post(options, AWAIT.toString(), variables), 'awaitTask', options.id);
    yield task;
    revision = task.revision;
    if (task.done) return true;
  }
}

function fromResult<T>(result: GraphQLResult, field: string, id: string): T {
  if (result.errors?.some((error) => error.extensions?.code === 'NOT_FOUND')) throw new TaskNotFoundError(id, { cause: result.errors });
  if (result.errors?.length) throw new Error(result.errors.map((error) => error.message).join('; '), { cause: result.errors });
  const value = result.data?.[field];
  if (value == null) throw new TaskNotFoundError(id);
  return value as T;
}

function asNotFound(error: unknown, id: string): unknown {
  const errors = Array.isArray(error) ? (error as GraphQLResult['errors']) : null;
  return errors?.some((e) => e.extensions?.code === 'NOT_FOUND') ? new TaskNotFoundError(id, { cause: errors }) : error;
}
