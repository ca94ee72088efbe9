/**
 * Baseline: the usual hand-written long-poll. `GET /tasks/:id/wait?timeout=s` re-reads the
 * task from SQLite every 100 ms until it is done or the timeout passes;
 * `POST /tasks/:id/complete` completes it through the real repository. Each re-read is one
 * prepared primary-key SELECT of the columns it needs on the real database (DATABASE_URL,
 * SQLITE_SYNCHRONOUS): the cheapest re-read, so the strongest polling baseline.
 * `GET /stats` tells how many long-polls it holds.
 */
import { createServer, type ServerResponse } from 'node:http';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { complete, isFinal, type Task, type TaskStatus } from '../../src/tasks/task.js';
import { listenAsBaseline } from '../lib/baseline.js';

/** How often a held long-poll re-reads its task, in ms. */
const POLL_INTERVAL_MS = 100;

// Not started: no WAL guard or checkpointer, as a hand-written server would have none.
const { database, repo } = openSqliteStorage({
  url: process.env.DATABASE_URL ?? ':memory:',
  sqliteSynchronous: process.env.SQLITE_SYNCHRONOUS === 'FULL' ? 'FULL' : 'NORMAL',
  walMaxBytes: 64 * 1024 * 1024,
});
// Written against the table as a peer would, not through our storage's column names.
const readState = database.sqlite.prepare('SELECT id, status, revision, updated_at AS updatedAt FROM tasks WHERE id = ?');
let waiting = 0;

/** What a long-poll answers with. */
interface TaskState {
  id: string;
  status: TaskStatus;
  revision: number;
  /** Epoch ms. */
  updatedAt: number;
}

const read = (id: string) => (readState.get(id) as TaskState | undefined) ?? null;
const stateOf = (task: Task | null): TaskState | null => task && { ...task, updatedAt: task.updatedAt.getTime() };

function sendTask(res: ServerResponse, task: TaskState | null): void {
  const body = JSON.stringify(
    task && { id: task.id, status: task.status, done: isFinal(task.status), revision: task.revision, updatedAt: new Date(task.updatedAt).toISOString() },
  );
  res.writeHead(task ? 200 : 404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function wait(id: string, timeoutSeconds: number, res: ServerResponse): void {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  waiting++;
  const finish = (task: TaskState | null) => {
    waiting--;
    clearTimeout(timer);
    sendTask(res, task);
  };
  res.on('close', () => {
    if (!res.writableEnded) {
      waiting--;
      clearTimeout(timer);
    }
  });
  const poll = () => {
    const task = read(id);
    if (!task || isFinal(task.status) || Date.now() >= deadline) return finish(task);
    timer = setTimeout(poll, POLL_INTERVAL_MS);
  };
  poll();
}

function completeTask(id: string): Task | null {
  return repo.transaction(() => {
    const task = repo.get(id);
    if (!task || isFinal(task.status)) return task;
    const done = complete(task, { ok: true }, null, new Date());
    repo.save(done);
    return done;
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [, resource, id, action] = url.pathname.split('/');
  req.resume();
  if (url.pathname === '/stats') return sendJsonStats(res);
  if (resource !== 'tasks' || !id) return sendTask(res, null);
  if (req.method === 'GET' && action === 'wait') return wait(id, Number(url.searchParams.get('timeout') ?? 30), res);
  if (req.method === 'POST' && action === 'complete') return req.on('end', () => sendTask(res, stateOf(completeTask(id))));
  sendTask(res, read(id));
});
server.keepAliveTimeout = 5_000;

function sendJsonStats(res: ServerResponse): void {
  const body = JSON.stringify({ waiters: waiting });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

listenAsBaseline(server);
