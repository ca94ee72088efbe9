import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError, statusOf, unauthenticated } from '../tasks/errors.js';
import type { Principal } from '../tasks/principal.js';
import { MAX_OUTPUT_PAGE } from '../tasks/output.js';
import type { OutputChunk, TaskService } from '../tasks/service.js';
import { isFinal, type Task } from '../tasks/task.js';
import type { Authenticate } from './auth.js';
import { traceOf } from './request-trace.js';
import { sendJson } from './respond.js';

export const REST_PREFIX = '/api/queue/poll/';

/** Most chunks one `/output` response carries. */

/**
 * The original polling API: `GET /api/queue/poll/:taskId`,
 * `GET /api/queue/poll/:taskId/wait?timeout=30[&after_revision=N]` and
 * `GET /api/queue/poll/:taskId/output?after=N[&wait=S]`, on the same service (and so the same
 * reads and wake-ups) as GraphQL.
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
    /** The chunks after `after`, at once, or (with `wait`) held like `/wait` until there is one. */
    const readOutput = async (principal: Principal, id: string) => {
      const after = parseOptionalInt(url.searchParams.get('after'), 'after') ?? 0;
      const wait = url.searchParams.get('wait');
      if (wait === null) {
        const task = await tasks.get(principal, id);
        return task && { task, chunks: await tasks.output(task, { after, first: MAX_OUTPUT_PAGE }) };
      }
      const { task, chunks, wokenAt } = await tasks.awaitOutput(principal, {
        id,
        after,
        first: MAX_OUTPUT_PAGE,
        timeoutSeconds: parseSeconds(wait, 30),
        signal: abort.signal,
        client: req.socket.remoteAddress ?? '',
      });
      const trace = traceOf(req);
      if (wokenAt !== null && trace) trace.wokenAt = wokenAt;
      return task && { task, chunks };
    };
    try {
      const principal = authenticate(req.headers.authorization ?? null);
      if (!principal) throw unauthenticated();
      const { id, route } = parsePath(url.pathname);
      if (route === 'output') {
        const output = await readOutput(principal, id);
        if (!output) throw new DomainError('NOT_FOUND', 'No task with that id.');
        return sendJson(res, 200, toRestOutput(output.task, output.chunks));
      }
      const task = route === 'wait' ? await awaitTask(principal, id) : await tasks.get(principal, id);
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

/**
 * The `/output` shape: the chunks read, the seq of the task's last chunk as far as this
 * response knows (it may have read chunks newer than the row), and whether the task is final
 * (then no chunk will follow `output_seq`).
 */
export function toRestOutput(task: Task, chunks: readonly OutputChunk[]) {
  return {
    task_id: task.id,
    chunks: chunks.map(({ seq, stream, data, at }) => ({ seq, stream, data, at: at.toISOString() })),
    output_seq: Math.max(task.outputSeq, chunks.at(-1)?.seq ?? 0),
    done: isFinal(task.status),
  };
}

const SUFFIXES = { wait: '/wait', output: '/output' } as const;

function parsePath(pathname: string): { id: string; route: 'status' | keyof typeof SUFFIXES } {
  const rest = pathname.slice(REST_PREFIX.length);
  const route = (Object.keys(SUFFIXES) as (keyof typeof SUFFIXES)[]).find((name) => rest.endsWith(SUFFIXES[name])) ?? 'status';
  const raw = route === 'status' ? rest : rest.slice(0, -SUFFIXES[route].length);
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch (error) {
    throw new DomainError('NOT_FOUND', 'No task with that id.', { cause: error });
  }
  if (id === '' || id.includes('/')) throw new DomainError('NOT_FOUND', 'No task with that id.');
  return { id, route };
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
