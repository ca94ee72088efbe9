import { isFinal, type Task } from './task.js';

/** The states of one task as an async iterator, for `taskUpdated`. */
export interface TaskStream extends AsyncIterableIterator<Task> {
  /** Offers a committed state; ignored unless its revision is newer than every one before. */
  offer(task: Task): void;
  /** Ends the stream after the state it holds, if any, is delivered (shutdown). */
  end(): void;
}

/**
 * A conflating stream: it holds at most one undelivered state, the newest, so a subscriber
 * that reads slowly skips intermediate revisions but always gets the latest and the final
 * one, and a subscriber that never reads costs one row, not a queue.
 * After a final state is delivered the stream is done. `return()` releases at once.
 */
export function createTaskStream(afterRevision: number | null, release: () => void): TaskStream {
  let lastRevision = afterRevision ?? 0;
  let pending: Task | null = null;
  let waiting: ((result: IteratorResult<Task>) => void) | null = null;
  let ending = false;
  let released = false;

  const done = (): IteratorResult<Task> => {
    if (!released) {
      released = true;
      release();
    }
    return { done: true, value: undefined };
  };

  const stream: TaskStream = {
    offer(task) {
      if (ending || task.revision <= lastRevision) return;
      lastRevision = task.revision;
      if (isFinal(task.status)) ending = true;
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ done: false, value: task });
      } else {
        pending = task;
      }
    },

    end() {
      ending = true;
      if (waiting && !pending) {
        const resolve = waiting;
        waiting = null;
        resolve(done());
      }
    },

    next() {
      if (pending) {
        const value = pending;
        pending = null;
        return Promise.resolve({ done: false, value });
      }
      if (ending) return Promise.resolve(done());
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },

    return() {
      ending = true;
      pending = null;
      const result = done();
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve(result);
      }
      return Promise.resolve(result);
    },

    throw(error?: unknown) {
      void stream.return?.();
      return Promise.reject(error);
    },

    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}

/**
 * Resolves on the event loop's next turn, after the I/O waiting now. A stream that serves a
 * lagging subscriber from storage waits for it before each page: on SQLite a read completes at
 * once, and a socket that takes every write at once (a client that reads fast on a near
 * network) would otherwise chain page after page in microtasks, and hold every other client
 * until the whole backlog was sent.
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
