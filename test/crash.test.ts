/**
 * Crash durability: with the default `SQLITE_SYNCHRONOUS=FULL`, a write the server has
 * acknowledged (HTTP 200, data, no errors) survives the process being killed with SIGKILL in
 * the middle of a concurrent write storm. After a restart on the same file every acknowledged
 * task is there at its acknowledged revision or later (with the same state at the same
 * revision), every acknowledged output chunk is there at its seq, the file passes `PRAGMA integrity_check`, and the restarted server still stops
 * cleanly on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from './helpers/process.js';

/** Concurrent writers in the storm. */
const LOOPS = 8;
/** The kill comes right after this many acknowledged writes. */
const KILL_AFTER_ACKNOWLEDGED = 400;
/** Bounds on the storm, whatever happens: tasks per loop and wall-clock time. */
const MAX_TASKS_PER_LOOP = 500;
const STORM_DEADLINE_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;

const TASK_FIELDS = 'id status progress revision result input';
const CREATE = `mutation($kind: String!, $input: JSON) { createTask(kind: $kind, input: $input) { ${TASK_FIELDS} } }`;
const CLAIM = `mutation($kind: String!, $workerId: String!) { claimTask(kinds: [$kind], workerId: $workerId, leaseSeconds: 600) { ${TASK_FIELDS} } }`;
const PROGRESS = `mutation($id: ID!, $progress: Int!, $workerId: String) { reportProgress(id: $id, progress: $progress, workerId: $workerId) { ${TASK_FIELDS} } }`;
const COMPLETE = `mutation($id: ID!, $result: JSON, $workerId: String) { completeTask(id: $id, result: $result, workerId: $workerId) { ${TASK_FIELDS} } }`;
const APPEND = `mutation($id: ID!, $data: String!, $workerId: String) { appendTaskOutput(id: $id, data: $data, workerId: $workerId) }`;
const READ = `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} output { seq data } } }`;

interface TaskState {
  id: string;
  status: string;
  progress: number;
  revision: number;
  result: unknown;
  input: unknown;
}

interface GraphQLResponse {
  status: number;
  body: { data?: Record<string, any> | null; errors?: unknown[] };
}

let servers: ServerProcess[] = [];
let dir: string;
afterEach(() => {
  for (const server of servers) server.child.kill('SIGKILL');
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.json()) as GraphQLResponse['body'] };
}

/** For each task, the highest revision the server acknowledged and the state it answered with. */
class Ledger {
  readonly tasks = new Map<string, TaskState>();
  /** Each task's acknowledged output chunks: data by seq. */
  readonly output = new Map<string, Map<number, string>>();
  acknowledged = 0;

  recordOutput(id: string, seq: number, data: string): void {
    this.acknowledged++;
    let chunks = this.output.get(id);
    if (!chunks) this.output.set(id, (chunks = new Map()));
    chunks.set(seq, data);
  }

  record(task: TaskState): void {
    this.acknowledged++;
    const known = this.tasks.get(task.id);
    if (!known || task.revision > known.revision) this.tasks.set(task.id, task);
  }
}

/**
 * Concurrent write loops against one server. Every write goes through `write`, which counts
 * what is in flight, records what is acknowledged, and calls `onAcknowledged` right after the
 * ledger has it (synchronously, so the kill lands while the other loops are mid-request).
 */
class Storm {
  readonly ledger = new Ledger();
  inFlight = 0;
  /** Writes that got neither an acknowledgement nor a refusal: the connection died under them. */
  failed = 0;
  /** Answers with errors or without data: none are expected before the kill. */
  readonly refused: unknown[] = [];
  private stopped = false;
  private readonly deadline = Date.now() + STORM_DEADLINE_MS;

  constructor(
    private readonly url: string,
    private readonly onAcknowledged: (count: number) => void,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  get running(): boolean {
    return !this.stopped && Date.now() < this.deadline;
  }

  run(): Promise<void[]> {
    return Promise.all(Array.from({ length: LOOPS }, (_, loop) => this.loop(loop)));
  }

  /** Creates tasks; of every four, one stays queued, one is claimed, one also gets progress and output, one is completed. */
  private async loop(loop: number): Promise<void> {
    const workerId = `worker-${loop}`;
    for (let n = 0; n < MAX_TASKS_PER_LOOP && this.running; n++) {
      const kind = `crash.${loop}.${n}`;
      const steps = n % 4;
      const created = await this.write('createTask', CREATE, { kind, input: { loop, n, token: randomUUID() } });
      if (!created) return;
      if (steps < 1) continue;
      const claimed = await this.write('claimTask', CLAIM, { kind, workerId });
      if (!claimed) return;
      if (steps < 2) continue;
      const progressed = await this.write('reportProgress', PROGRESS, { id: claimed.id, progress: 10 + n % 80, workerId });
      if (!progressed) return;
      for (let line = 0; line < 2; line++) {
        const data = `${kind} line ${line} ${randomUUID()}`;
        const seq = (await this.request('appendTaskOutput', APPEND, { id: claimed.id, data, workerId })) as number | null;
        if (seq === null) return;
        this.ledger.recordOutput(claimed.id, seq, data);
        this.onAcknowledged(this.ledger.acknowledged);
      }
      if (steps < 3) continue;
      const completed = await this.write('completeTask', COMPLETE, { id: claimed.id, result: { loop, n, url: `/out/${kind}` }, workerId });
      if (!completed) return;
    }
  }

  /** One mutation; the task it answered with when acknowledged, otherwise null (and the loop ends). */
  private async write(field: string, query: string, variables: Record<string, unknown>): Promise<TaskState | null> {
    const task = (await this.request(field, query, variables)) as TaskState | null;
    if (!task) return null;
    this.ledger.record(task);
    this.onAcknowledged(this.ledger.acknowledged);
    return task;
  }

  /** One mutation; what its field answered when acknowledged, otherwise null. */
  private async request(field: string, query: string, variables: Record<string, unknown>): Promise<unknown> {
    if (!this.running) return null;
    this.inFlight++;
    let response: GraphQLResponse;
    try {
      response = await post(this.url, query, variables);
    } catch {
      this.failed++;
      return null;
    } finally {
      this.inFlight--;
    }
    const value = response.body.data?.[field];
    if (response.status !== 200 || response.body.errors || value == null) {
      this.refused.push({ field, variables, response });
      return null;
    }
    return value;
  }
}

/** Reads every task back; each entry is an acknowledged write the restarted server does not show. */
async function findLost(url: string, { tasks: acknowledged, output }: Ledger): Promise<unknown[]> {
  const lost: unknown[] = [];
  const queue = [...acknowledged.values()];
  const reader = async () => {
    for (let expected = queue.pop(); expected; expected = queue.pop()) {
      const { body } = await post(url, READ, { id: expected.id });
      const { output: chunks = [], ...actual } = body.data?.task ?? {};
      const stored = new Map((chunks as { seq: number; data: string }[]).map((chunk) => [chunk.seq, chunk.data]));
      for (const [seq, data] of output.get(expected.id) ?? []) {
        if (stored.get(seq) !== data) lost.push({ id: expected.id, seq, data, stored: stored.get(seq) ?? null });
      }
      if (body.data?.task == null) {
        lost.push({ expected, actual: null, errors: body.errors });
        continue;
      }
      const kept =
        actual.revision >= expected.revision &&
        JSON.stringify(actual.input) === JSON.stringify(expected.input) &&
        (actual.revision > expected.revision || JSON.stringify(actual) === JSON.stringify(expected));
      if (!kept) lost.push({ expected, actual, errors: body.errors });
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, reader));
  return lost;
}

function integrityCheck(file: string): unknown {
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return reader.pragma('integrity_check', { simple: true });
  } finally {
    reader.close();
  }
}

describe('crash durability', () => {
  it('SIGKILL in the middle of a write storm loses no acknowledged write', { timeout: 60_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'tasks-crash-'));
    const file = join(dir, 'tasks.db');
    const first = await startServerProcess({ DATABASE_URL: file });
    servers.push(first);

    let inFlightAtKill: number | null = null;
    const storm: Storm = new Storm(first.url, (count) => {
      if (count !== KILL_AFTER_ACKNOWLEDGED) return;
      inFlightAtKill = storm.inFlight;
      storm.stop();
      first.child.kill('SIGKILL');
    });
    await storm.run();

    expect(storm.refused).toEqual([]);
    expect(storm.ledger.acknowledged).toBeGreaterThanOrEqual(KILL_AFTER_ACKNOWLEDGED);
    expect(storm.ledger.output.size).toBeGreaterThan(0);
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await startServerProcess({ DATABASE_URL: file });
    servers.push(second);
    const lost = await findLost(second.url, storm.ledger);
    const integrity = integrityCheck(file);

    console.log(
      [
        `writes acknowledged: ${storm.ledger.acknowledged}`,
        `writes in flight when killed: ${inFlightAtKill}`,
        `in-flight writes cut off: ${storm.failed}`,
        `tasks checked: ${storm.ledger.tasks.size}`,
        `output chunks checked: ${[...storm.ledger.output.values()].reduce((sum, chunks) => sum + chunks.size, 0)}`,
        `lost: ${lost.length}`,
        `integrity_check: ${String(integrity)}`,
      ].join('\n'),
    );
    expect(lost).toEqual([]);
    expect(integrity).toBe('ok');

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
