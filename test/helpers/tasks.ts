/** Tasks in a given state, made over GraphQL on a running server, as a producer and a worker would. */
import { gqlRequest } from './graphql.js';

export interface RunningTaskOptions {
  /** @default 'test' */
  kind?: string;
  /** @default 'w1' */
  workerId?: string;
  /** @default 60 */
  leaseSeconds?: number;
  /** Headers of the producer that creates it (e.g. its key). */
  headers?: Record<string, string>;
  /** Headers of the worker that claims it. @default headers */
  workerHeaders?: Record<string, string>;
}

/** Creates a task and claims that very task: RUNNING at revision 2, its lease held by `workerId`. Its id. */
export async function runningTask(
  baseUrl: string,
  { kind = 'test', workerId = 'w1', leaseSeconds = 60, headers = {}, workerHeaders = headers }: RunningTaskOptions = {},
): Promise<string> {
  const created = await gqlRequest(baseUrl, 'mutation($kind: String!) { createTask(kind: $kind) { id } }', { kind }, { headers });
  const id = created.data?.createTask?.id as string | undefined;
  if (!id) throw new Error(`runningTask: createTask failed: ${JSON.stringify(created.errors)}`);
  // The oldest queued task of this kind is claimed: with earlier ones still queued, it may not be ours.
  for (;;) {
    const claimed = await gqlRequest(
      baseUrl,
      'mutation($kinds: [String!], $workerId: String!, $lease: Int) { claimTask(kinds: $kinds, workerId: $workerId, leaseSeconds: $lease) { id } }',
      { kinds: [kind], workerId, lease: leaseSeconds },
      { headers: workerHeaders },
    );
    const claimedId = claimed.data?.claimTask?.id as string | undefined;
    if (!claimedId) throw new Error(`runningTask: claimTask found nothing: ${JSON.stringify(claimed.errors)}`);
    if (claimedId === id) return id;
  }
}

/** `reportProgress` by the task's worker (any worker when the lease is not checked). */
export const reportProgress = (baseUrl: string, id: string, progress: number, headers: Record<string, string> = {}) =>
  gqlRequest(baseUrl, 'mutation($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p) { revision } }', { id, p: progress }, { headers });

/** `completeTask` with `result`. */
export const completeTask = (baseUrl: string, id: string, result: unknown = 'done', headers: Record<string, string> = {}) =>
  gqlRequest(baseUrl, 'mutation($id: ID!, $r: JSON) { completeTask(id: $id, result: $r) { revision } }', { id, r: result }, { headers });
