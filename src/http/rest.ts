import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError, statusOf, unauthenticated } from '../tasks/errors.js';
import type { Principal } from '../tasks/principal.js';
import type { TaskService } from '../tasks/service.js';
import type { Task } from '../tasks/task.js';
import type { Authenticate } from './auth.js';
import { traceOf } from './request-trace.js';
import { sendJson } from './respond.js';

export const REST_PREFIX = '/api/queue/poll/';

/**
 * The original polling API: `GET /api/queue/poll/:taskId` and
 * `GET /api/queue/poll/:taskId/wait?timeout=30[&after_revision=N]`, on the same service
 * (and so the same reads and wake-ups) as GraphQL.
 */
export function createRestHandler({ tasks, authenticate }: { tasks: TaskService; authenticate: Authenticate }) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Only GET is allowed here.' } });
    }
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const awaitTask = async (principal: Principal, id: string) => {
      const { task, wokenAt } = await tasks.awaitTask(principal, {
        id,
        timeoutSeconds: parseSeconds(url.searchParams.get('timeout'), 30),
        afterRevision: parseOptionalInt(url.searchParams.get('after_revision'), 'after_revision'),
        signal: abort.signal,
        client: req.socket.remoteAddress ?? '',
      });
      const trace = traceOf(req);
      if (wokenAt !== null && trace) trace.wokenAt = wokenAt;
      return task;
    };
    try {
      const principal = authenticate(req.headers.authorization ?? null);
      if (!principal) throw unauthenticated();
      const { id, wait } = parsePath(url.pathname);
      const task = wait ? await awaitTask(principal, id) : await tasks.get(principal, id);
      if (!task) throw new DomainError('NOT_FOUND', 'No task with that id.');
      sendJson(res, 200, toRestTask(task));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      sendJson(res, statusOf(error.code), { error: { code: error.code, message: error.message } });
    }
  };
}

/** The REST shape: snake_case, status in lower case. */
export function toRestTask(task: Task) {
  return {
    task_id: task.id,
    status: task.status.toLowerCase(),
    result: task.result,
    progress: task.progress,
    created_at: task.createdAt.toISOString(),
    completed_at: task.completedAt?.toISOString() ?? null,
    error: task.error,
    message: task.message,
    revision: task.revision,
    updated_at: task.updatedAt.toISOString(),
  };
}

function parsePath(pathname: string): { id: string; wait: boolean } {
  const rest = pathname.slice(REST_PREFIX.length);
  const wait = rest.endsWith('/wait');
  const raw = wait ? rest.slice(0, -'/wait'.length) : rest;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch (error) {
    throw new DomainError('NOT_FOUND', 'No task with that id.', { cause: error });
  }
  if (id === '' || id.includes('/')) throw new DomainError('NOT_FOUND', 'No task with that id.');
  return { id, wait };
}

/** The number a query parameter holds (NaN when it holds none); the service checks it as it checks awaitTask's. */
function parseSeconds(raw: string | null, fallback: number): number {
  return raw === null || raw === '' ? fallback : Number(raw);
}

function parseOptionalInt(raw: string | null, name: string): number | null {
  if (raw === null || raw === '') return null;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new DomainError('BAD_USER_INPUT', `${name} must be an integer.`);
  return value;
}
