import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** The SQLite file (in WAL mode). */
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  /** How long after a write the worker checkpoints (writes in between share the checkpoint). In ms. */
  delayMs: number;
  /** A checkpoint failed, or the worker stopped; the main connection's own checkpoints still bound the WAL. */
  onError: (error: Error) => void;
}

export interface Checkpointer {
  /** Tells the worker that a transaction committed (cheap: one atomic compare-and-swap, a wake-up only when it sleeps). */
  noteCommit(): void;
  /** Stops the worker and closes its connection; resolves once it has exited. */
  close(): Promise<void>;
}

const IDLE = 0;
const WRITTEN = 1;
const CLOSING = 2;

/**
 * The worker, as CommonJS source: no TypeScript loader is needed in the thread, whatever runs
 * the main one (tsx, vitest, plain node), and it loads the driver from the main thread's
 * resolved path. It sleeps in `Atomics.wait` until a commit is noted, so an idle server has
 * no wake-ups for it; then waits `delayMs` for more commits and checkpoints once.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const [IDLE, WRITTEN, CLOSING] = [${IDLE}, ${WRITTEN}, ${CLOSING}];
const state = new Int32Array(workerData.state);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('busy_timeout = 0');
for (;;) {
  Atomics.wait(state, 0, IDLE);
  if (Atomics.load(state, 0) === CLOSING) break;
  Atomics.wait(state, 0, WRITTEN, workerData.delayMs);
  if (Atomics.compareExchange(state, 0, WRITTEN, IDLE) === CLOSING) break;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage(error instanceof Error ? error.message : String(error));
  }
}
db.close();
`;

/**
 * Copies the WAL into the database file from a worker thread with its own connection
 * (PASSIVE checkpoints, which never block the writer), so the checkpoints SQLite still runs
 * on the main connection after a commit find little left to copy and little unsynced WAL to
 * fsync: under a steady stream of writes such a checkpoint stalled the event loop for
 * milliseconds every second or two (the `writes` benchmark: README, Performance). The main connection's checkpoints stay on, since they are what resets the WAL
 * under a steady stream of writes.
 */
export function startCheckpointer({ path, synchronous, delayMs, onError }: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const state = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, synchronous, delayMs, state: state.buffer } });
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
    noteCommit() {
      if (Atomics.compareExchange(state, 0, IDLE, WRITTEN) === IDLE) Atomics.notify(state, 0);
    },
    async close() {
      if (!closing) {
        closing = true;
        Atomics.store(state, 0, CLOSING);
        Atomics.notify(state, 0);
      }
      await exited;
    },
  };
}
