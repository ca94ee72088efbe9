import { openPostgresStorage } from '../../src/storage/postgres/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { createTaskEvents, type TaskEvents } from '../../src/tasks/events.js';
import { OPEN_PRINCIPAL, type Principal } from '../../src/tasks/principal.js';
import { createTaskService, type AwaitResult, type TaskService, type TaskServiceLimits } from '../../src/tasks/service.js';
import type { TaskStore } from '../../src/tasks/store.js';
import type { Task } from '../../src/tasks/task.js';
import { describe } from 'vitest';
import { describeWithPostgres, freshDatabase } from './postgres.js';

export const LIMITS: TaskServiceLimits = {
  awaitTimeoutMaxSeconds: 60,
  maxWaiters: 20_000,
  maxWaitersPerClient: 1_000,
  maxPayloadBytes: 65_536,
  maxOutputChunkBytes: 65_536,
  maxOutputBytesPerTask: 16 * 1024 * 1024,
  retentionHours: 168,
};

export type Engine = 'sqlite' | 'postgres';

export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/**
 * One suite per engine, named `${name} on ${engine}`. Without a PostgreSQL server the
 * PostgreSQL one is reported as skipped, with the reason, rather than left out.
 */
export function describeEngines(name: string, suite: (engine: Engine) => void): void {
  for (const engine of ENGINES) {
    (engine === 'postgres' ? describeWithPostgres : describe)(`${name} on ${engine}`, () => suite(engine));
  }
}

export interface ServiceOptions {
  limits?: Partial<TaskServiceLimits>;
  clock?: () => Date;
}

/** A listener or background job that throws must fail the test, not vanish: rethrown, vitest reports it. */
const rethrow = (error: unknown) => {
  throw error;
};

/** The real service over `store`, with events that record every publish in `published`. */
function serviceOver(store: TaskStore, options: ServiceOptions) {
  const events = createTaskEvents(rethrow);
  const published: Task[] = [];
  const recorded: TaskEvents = {
    ...events,
    publish(task: Task) {
      published.push(task);
      events.publish(task);
    },
  };
  const tasks = createTaskService({
    store,
    events: recorded,
    limits: { ...LIMITS, ...options.limits },
    clock: options.clock,
    onError: rethrow,
  });
  tasks.start();
  return { store, events, tasks, published };
}

/**
 * The real service on a real `:memory:` SQLite database with the real migrations, opened as
 * the app opens it; `published` records every event. The storage's background work (WAL
 * guard, checkpointer, PostgreSQL listener) is not started: these suites count the service's
 * own timers and store calls. The app's suites run it all.
 */
export function createTestService(options: ServiceOptions & { url?: string; onCommit?: () => void } = {}) {
  const storage = openSqliteStorage({ url: options.url ?? ':memory:', sqliteSynchronous: 'NORMAL', walMaxBytes: 64 * 1024 * 1024, onCommit: options.onCommit });
  const service = serviceOver(storage.store, options);
  return {
    ...service,
    store: storage.store,
    database: storage.database,
    repo: storage.repo,
    async close() {
      service.tasks.close();
      await storage.close();
    },
  };
}

/** The real service on a fresh PostgreSQL database (real migrations) of the test server, opened as the app does. */
export async function createPgTestService(options: ServiceOptions = {}) {
  const database = await freshDatabase();
  const storage = await openPostgresStorage({ url: database.url, poolSize: 10, eventResyncMs: 5_000, origin: 'test' });
  const service = serviceOver(storage.store, options);
  return {
    ...service,
    pg: storage.database,
    async close() {
      service.tasks.close();
      await storage.close();
      await database.drop();
    },
  };
}

export interface EngineTestService {
  store: TaskStore;
  events: TaskEvents;
  tasks: TaskService;
  published: Task[];
  close(): Promise<void>;
}

export const createEngineTestService = (engine: Engine, options: ServiceOptions = {}): Promise<EngineTestService> =>
  engine === 'postgres' ? createPgTestService(options) : Promise.resolve(createTestService(options));

export interface RunningTaskOptions {
  /** Who creates and claims it. @default OPEN_PRINCIPAL */
  principal?: Principal;
  /** @default 'work' */
  kind?: string;
  /** @default 'w1' */
  workerId?: string;
  /** @default 60 */
  leaseSeconds?: number;
  /** @default 1 */
  maxAttempts?: number;
}

/**
 * Creates a task and claims that very task through the service: RUNNING at revision 2, its
 * lease held by `workerId`. (test/helpers/tasks.ts makes one over GraphQL on a running server.)
 */
export async function runningTask(
  tasks: Pick<TaskService, 'create' | 'claim'>,
  { principal = OPEN_PRINCIPAL, kind = 'work', workerId = 'w1', leaseSeconds = 60, maxAttempts = 1 }: RunningTaskOptions = {},
): Promise<Task> {
  const created = await tasks.create(principal, { kind, maxAttempts });
  const claimed = await tasks.claim(principal, { kinds: [kind], workerId, leaseSeconds });
  if (claimed?.id !== created.id) throw new Error(`runningTask: the claim took ${claimed?.id ?? 'nothing'}, not the new task ${created.id}`);
  return claimed;
}

/** The task an `awaitTask` ended with (its result also says what woke it). */
export const taskOf = (result: AwaitResult): Task | null => result.task;

/** The code a service call was refused with (its message must say why), or 'ok' when it was taken. */
export async function refusalCode(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'ok';
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (!message?.trim()) throw new Error(`the ${code} refusal does not say why`);
    return code ?? 'no code';
  }
}

/**
 * Until `condition()` holds, checked on setImmediate: fake timers leave it alone (vi.waitFor
 * would advance a faked clock), and PostgreSQL's real round trips get their turns.
 */
export async function until(condition: () => boolean, what = 'the condition', timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what} did not come within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Until `tasks` holds exactly `count` long-polls (a wait reads its task first: real I/O on PostgreSQL). */
export const untilHeld = (tasks: Pick<TaskService, 'stats'>, count: number) =>
  until(() => tasks.stats().waiters === count, `${count} held long-polls`);
