import { randomBytes } from 'node:crypto';
import { seedPostgres as seedPostgresTasks, seedSqlite } from '../../src/storage/seed.js';
import * as machine from '../../src/tasks/task.js';

/** The tenant of a server without API keys (`OPEN_PRINCIPAL`), so seeded tasks are visible to it. */
const TENANT = 'default';
const WORKER = 'bench-worker';
/** Leases of seeded RUNNING tasks outlast any run, so the lease timer never touches them. */
const LEASE_SECONDS = 24 * 3600;

export type LiveStatus = 'QUEUED' | 'RUNNING';

export interface SeedSpec {
  /** Tasks made by the real state machine and inserted by the real repository: QUEUED, or RUNNING (claimed, ready for worker writes). */
  live?: { status: LiveStatus; count: number };
  /** COMPLETED tasks that only fill the table, copied in bulk inside SQLite. */
  filler?: number;
  /** How many filler ids to return, picked at random. @default 0 */
  fillerSample?: number;
}

export interface Seeded {
  /** The live tasks' ids, in creation order. */
  liveIds: string[];
  /** A random sample of the filler tasks' ids. */
  fillerIds: string[];
}

/** A task id shaped like the server's: 128 random bits, base64url (22 characters). */
const newId = () => randomBytes(16).toString('base64url');

function liveTask(status: LiveStatus, at: Date): machine.Task {
  const queued = machine.createTask(
    { id: newId(), tenant: TENANT, kind: 'bench.live', input: { bench: true }, idempotencyKey: null, maxAttempts: 3 },
    at,
  );
  return status === 'QUEUED' ? queued : machine.claim(queued, WORKER, LEASE_SECONDS, at);
}

const liveTasks = ({ status, count }: { status: LiveStatus; count: number }, at: Date) => Array.from({ length: count }, () => liveTask(status, at));

/**
 * Writes tasks into the SQLite file at `path` before any server opens it, through storage's bulk
 * loader (`seedSqlite`, after the real migrations): live tasks made by the state machine and
 * stored by the repository; filler rows copied from one finished task inside SQLite, so
 * 1,000,000 rows take seconds rather than minutes.
 */
export function seedDatabase(path: string, spec: SeedSpec): Seeded {
  const at = new Date();
  const live = spec.live ? liveTasks(spec.live, at) : [];
  const copies = spec.filler
    ? { template: machine.complete(liveTask('RUNNING', at), { bench: true }, WORKER, at), count: spec.filler, sampleSize: spec.fillerSample ?? 0 }
    : undefined;
  const { sampleIds } = seedSqlite(path, { copies, tasks: live });
  return { liveIds: live.map((task) => task.id), fillerIds: sampleIds };
}

/**
 * The PostgreSQL twin of `seedDatabase` (live tasks only), through storage's `seedPostgres`: the
 * real migrations, then the state machine's tasks in multi-row INSERTs, before any server starts.
 */
export async function seedPostgres(url: string, live: { status: LiveStatus; count: number }): Promise<Seeded> {
  const tasks = liveTasks(live, new Date());
  await seedPostgresTasks(url, tasks);
  return { liveIds: tasks.map((task) => task.id), fillerIds: [] };
}
