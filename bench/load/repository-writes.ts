/**
 * Load process: the repository alone, in process: how many `reportProgress` updates per
 * second one connection commits, each a read and a write in one IMMEDIATE transaction as the
 * service does them, with no HTTP, GraphQL or events.
 */
import { randomBytes } from 'node:crypto';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import * as machine from '../../src/tasks/task.js';
import { serveCommands } from '../lib/protocol.js';

export interface RepositoryWritesArgs {
  /** Database file (created and migrated if new). */
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  seconds: number;
}

async function run({ path, synchronous, seconds }: RepositoryWritesArgs): Promise<{ updates: number; perSecond: number }> {
  // Not started: no WAL guard or checkpointer, only the repository the service writes through.
  const storage = openSqliteStorage({ url: path, sqliteSynchronous: synchronous, walMaxBytes: 64 * 1024 * 1024 });
  try {
    const { repo } = storage;
    const now = new Date();
    const queued = machine.createTask(
      { id: randomBytes(16).toString('base64url'), tenant: 'default', kind: 'bench.repo', input: null, idempotencyKey: null, maxAttempts: 1 },
      now,
    );
    const task = machine.claim(queued, 'bench-worker', 3_600, now);
    repo.insert(task);
    const start = performance.now();
    const end = start + seconds * 1000;
    let updates = 0;
    while (performance.now() < end) {
      repo.transaction(() => {
        const current = repo.get(task.id)!;
        repo.save(machine.reportProgress(current, updates % 101, null, null, new Date()));
      });
      updates++;
    }
    return { updates, perSecond: updates / ((performance.now() - start) / 1000) };
  } finally {
    await storage.close();
  }
}

serveCommands({ run });
