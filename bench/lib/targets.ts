import { graphqlPost, histogram, metric, TASK_FIELDS } from './graphql.js';
import type { Server } from './servers.js';
import type { LongPollTarget } from './wake.js';

/** Longest hold asked for, in s: nothing should time out during a run (the server allows 600). */
const HOLD_SECONDS = 600;

/** The API: `awaitTask` over HTTP POST, completed by `completeTask`; held count from /metrics. */
export function apiLongPolls(server: Server): LongPollTarget {
  return {
    server,
    wait: graphqlPost(`query Await($id: ID!) { awaitTask(id: $id, timeout: ${HOLD_SECONDS}) { ${TASK_FIELDS} } }`, { id: '@@id@@' }),
    complete: graphqlPost('mutation Complete($id: ID!) { completeTask(id: $id, result: { ok: true }) { id revision updatedAt } }', { id: '@@id@@' }),
    held: () => metric(server.url, 'task_api_waiters'),
    wakes: () => histogram(server.url, 'task_api_wake_seconds'),
  };
}

/** bench/baselines/polling-server.ts: re-reads SQLite every 100 ms per held request. */
export function pollingLongPolls(server: Server): LongPollTarget {
  return {
    server,
    wait: { method: 'GET', path: `/tasks/@@id@@/wait?timeout=${HOLD_SECONDS}` },
    complete: { method: 'POST', path: '/tasks/@@id@@/complete', body: '' },
    held: async () => ((await (await fetch(`${server.url}/stats`)).json()) as { waiters: number }).waiters,
  };
}

/** The subscription every subscriber runs. */
export const TASK_UPDATED = `subscription Follow($id: ID!) { taskUpdated(id: $id) { ${TASK_FIELDS} } }`;
