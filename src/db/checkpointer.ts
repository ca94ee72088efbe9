import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** The SQLite file (in WAL mode). */
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  /** How often the worker checkpoints. In ms. */
  intervalMs: number;
  /** A checkpoint failed, or the worker stopped; the main connection's own checkpoints still bound the WAL. */
  onError: (error: Error) => void;
}

export interface Checkpointer {
  /** Stops the worker and closes its connection; resolves once it has exited. */
  close(): Promise<void>;
}

/**
 * The worker, as CommonJS source: no TypeScript loader is needed in the thread, whatever runs
 * the main one (tsx, vitest, plain node). It gets the driver's resolved path, so it loads the
 * same better-sqlite3 as the main thread.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage(error instanceof Error ? error.message : String(error));
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Copies the WAL into the database file from a worker thread with its own connection
 * (PASSIVE checkpoints, which never block the writer), so the checkpoints SQLite still runs
 * on the main connection after a commit find little left to copy and little unsynced WAL to
 * fsync: a checkpoint there took 5–7 ms every second or two at 1,000 writes/s, stalling the
 * event loop, and it is what keeps resetting the WAL under a steady stream of writes.
 */
export function startCheckpointer({ path, synchronous, intervalMs, onError }: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, synchronous, intervalMs } });
  worker.unref();
  let closing = false;
  worker.on('message', (message: string) => onError(new Error(`background checkpoint failed: ${message}`)));
  worker.on('error', onError);
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (!closing) onError(new Error(`the checkpoint worker exited (${code})`));
      resolve();
    }),
  );
  return {
    async close() {
      if (!closing) {
        closing = true;
        worker.postMessage('close');
      }
      await exited;
    },
  };
}
