/**
 * A worker for the task status API, with nothing but fetch: claim a task, keep its lease
 * alive with heartbeats, report progress, complete it or fail it (with retry), and stop
 * gracefully when its signal aborts (the task in hand is finished first). The demo mode runs
 * it; `examples/worker.ts` is its command line.
 */
import { sleep } from './sleep.js';

export interface ClaimedTask {
  id: string;
  kind: string;
  input: unknown;
  attempts: number;
  maxAttempts: number;
}

/** What a handler gets: the task, a progress reporter, an output writer, and a signal that aborts when the task is cancelled. */
export interface WorkContext {
  task: ClaimedTask;
  progress(percent: number, message?: string): Promise<void>;
  /**
   * Appends a chunk to the task's output (what followers see live with `taskOutput`); resolves
   * with its seq. `stream`: 1 to 32 letters, digits and `_.:-`. @default stream 'log'
   */
  output(data: string, stream?: string): Promise<number>;
  signal: AbortSignal;
}

export interface WorkerOptions {
  url: string;
  apiKey?: string;
  kinds?: string[];
  workerId: string;
  /** @default 30 // seconds */
  leaseSeconds?: number;
  /** Pause when nothing is queued. @default 1000 // ms */
  idleMs?: number;
  /** Stops claiming; the task in hand is finished first. */
  signal: AbortSignal;
  /** Does the work and returns the result; a throw fails the attempt (retried while attempts remain). */
  handle(context: WorkContext): Promise<unknown>;
  log?: (message: string) => void;
}

const CLAIM = `mutation($kinds: [String!], $worker: String!, $lease: Int) {
  claimTask(kinds: $kinds, workerId: $worker, leaseSeconds: $lease) { id kind input attempts maxAttempts }
}`;
const HEARTBEAT = `mutation($id: ID!, $worker: String!, $lease: Int) { heartbeat(id: $id, workerId: $worker, leaseSeconds: $lease) { status } }`;
const PROGRESS = `mutation($id: ID!, $p: Int!, $m: String, $worker: String) { reportProgress(id: $id, progress: $p, message: $m, workerId: $worker) { revision } }`;
const OUTPUT = `mutation($id: ID!, $data: String!, $stream: String, $worker: String) { appendTaskOutput(id: $id, data: $data, stream: $stream, workerId: $worker) }`;
const COMPLETE = `mutation($id: ID!, $result: JSON, $worker: String) { completeTask(id: $id, result: $result, workerId: $worker) { status } }`;
const FAIL = `mutation($id: ID!, $message: String!, $worker: String) { failTask(id: $id, message: $message, retry: true, workerId: $worker) { status } }`;

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

/** Runs until `signal` aborts. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { workerId, leaseSeconds = 30, idleMs = 1_000, signal, log = () => {} } = options;
  const call = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    const error = body.errors?.[0];
    if (error) throw new GraphQLRequestError(error.message, error.extensions?.code);
    return body.data!;
  };

  while (!signal.aborted) {
    const { claimTask: task } = await call<{ claimTask: ClaimedTask | null }>(CLAIM, {
      kinds: options.kinds?.length ? options.kinds : null,
      worker: workerId,
      lease: leaseSeconds,
    });
    if (!task) {
      await sleep(idleMs, signal);
      continue;
    }
    log(`claimed ${task.kind} ${task.id} (attempt ${task.attempts}/${task.maxAttempts})`);
    const lost = new AbortController();
    const heartbeat = setInterval(() => {
      call(HEARTBEAT, { id: task.id, worker: workerId, lease: leaseSeconds }).catch((error: unknown) => {
        // Cancelled, or the lease went to another worker: stop working on it.
        if (error instanceof GraphQLRequestError) lost.abort();
      });
    }, (leaseSeconds * 1000) / 3);
    try {
      const result = await options.handle({
        task,
        signal: lost.signal,
        progress: async (percent, message) => {
          await call(PROGRESS, { id: task.id, p: Math.round(percent), m: message ?? null, worker: workerId });
        },
        output: async (data, stream = 'log') =>
          (await call<{ appendTaskOutput: number }>(OUTPUT, { id: task.id, data, stream, worker: workerId })).appendTaskOutput,
      });
      await call(COMPLETE, { id: task.id, result: result ?? null, worker: workerId });
      log(`completed ${task.id}`);
    } catch (error) {
      if (lost.signal.aborted || (error instanceof GraphQLRequestError && ['INVALID_TRANSITION', 'LEASE_MISMATCH'].includes(error.code ?? ''))) {
        log(`gave up ${task.id}: it was cancelled or its lease was lost`);
      } else {
        const message = error instanceof Error ? error.message : String(error);
        await call(FAIL, { id: task.id, message, worker: workerId }).catch(() => {});
        log(`failed ${task.id}: ${message}`);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }
}
