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
  /**
   * Resolves once the worker is idle: its connection open, and every commit noted before the
   * call checkpointed (or its checkpoint failed). At once when the worker has stopped.
   */
  settled(): Promise<void>;
  /** Stops the worker and closes its connection; resolves once it has exited. */
  close(): Promise<void>;
}

/** Slots of the shared state: the worker's state (below), and whether it is busy (1: starting or checkpointing). */
const STATE = 0;
const BUSY = 1;

const IDLE = 0;
const WRITTEN = 1;
const CLOSING = 2;

/** What the worker tells the main thread: it went idle, or a checkpoint failed. */
type WorkerMessage = { settled: true } | { failed: string };

/**
 * The worker, as CommonJS source: no TypeScript loader is needed in the thread, whatever runs
 * the main one (tsx, vitest, plain node), and it loads the driver from the main thread's
 * resolved path. It sleeps in `Atomics.wait` until a commit is noted, so an idle server has
 * no wake-ups for it; then waits `delayMs` for more commits, checkpoints once, and posts that
 * it is idle again (what `settled()` waits for).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const [STATE, BUSY, IDLE, WRITTEN, CLOSING] = [${STATE}, ${BUSY}, ${IDLE}, ${WRITTEN}, ${CLOSING}];
const state = new Int32Array(workerData.state);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('busy_timeout = 0');
const settle = () => {
  Atomics.store(state, BUSY, 0);
  parentPort.postMessage({ settled: true });
};
settle();
for (;;) {
  Atomics.wait(state, STATE, IDLE);
  if (Atomics.load(state, STATE) === CLOSING) break;
  Atomics.store(state, BUSY, 1);
  Atomics.wait(state, STATE, WRITTEN, workerData.delayMs);
  if (Atomics.compareExchange(state, STATE, WRITTEN, IDLE) === CLOSING) break;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ failed: error instanceof Error ? error.message : String(error) });
  }
  settle();
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
  const state = new Int32Array(new SharedArrayBuffer(8));
  Atomics.store(state, BUSY, 1);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, synchronous, delayMs, state: state.buffer } });
  worker.unref();
  let closing = false;
  let stopped = false;
  /** Callers of `settled()` waiting for the worker's next word (or its exit). */
  const waiting: (() => void)[] = [];
  const wake = () => waiting.splice(0).forEach((resolve) => resolve());
  worker.on('message', (message: WorkerMessage) => {
    if ('failed' in message) onError(new Error(`background checkpoint failed: ${message.failed}`));
    else wake();
  });
  worker.on('error', onError);
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      stopped = true;
      wake();
      if (!closing) onError(new Error(`the checkpoint worker exited (${code})`));
      resolve();
    }),
  );
  return {
    noteCommit() {
      if (Atomics.compareExchange(state, STATE, IDLE, WRITTEN) === IDLE) Atomics.notify(state, STATE);
    },
    async settled() {
      // The worker sets BUSY before it takes WRITTEN back to IDLE: one of the two shows a round under way.
      while (!stopped && (Atomics.load(state, STATE) === WRITTEN || Atomics.load(state, BUSY) === 1)) {
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
    async close() {
      if (!closing) {
        closing = true;
        Atomics.store(state, STATE, CLOSING);
        Atomics.notify(state, STATE);
      }
      await exited;
    },
  };
}
