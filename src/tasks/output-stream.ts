import type { OutputChunk } from './output.js';
import { nextTurn } from './stream.js';
import { isFinal, type Task } from './task.js';

/** A task's output chunks as an async iterator, for `taskOutput`. */
export interface OutputStream extends AsyncIterableIterator<OutputChunk> {
  /** Output up to `seq` is committed; `chunk` is that very chunk when it was appended here. */
  offerChunk(seq: number, chunk: OutputChunk | null): void;
  /** A committed state of the task: its `outputSeq` is committed output; a final state means no more will come. */
  offerTask(task: Task): void;
  /** Ends the stream after the chunks it holds are delivered (shutdown). */
  end(): void;
}

export interface OutputStreamOptions {
  /** Deliver chunks with seq > after. */
  after: number;
  /** Reads up to `limit` chunks with seq > `after`, in order, from storage (maybe fewer: a page may end early). */
  read(after: number, limit: number): Promise<OutputChunk[]>;
  /** Chunks per read, and most chunks held undelivered. */
  pageSize: number;
  /**
   * Most characters of `data` held undelivered from appends, as a read holds about this many
   * bytes: a chunk is taken from an append only within it (or when nothing is held), else read
   * from storage when its turn comes.
   */
  budget: number;
  /** Called once the stream is done, however it ends. */
  release(): void;
  /** Told of each page read from storage. */
  onPage?(): void;
}

/**
 * Every chunk after `after`, in seq order, exactly once, then ending after the task is final
 * and its last chunk delivered. It holds at most `pageSize` chunks, of about `budget`
 * characters together (one larger chunk alone may come whole): a subscriber that keeps
 * up takes each fresh chunk as the append hands it over (no read); one that falls behind, or
 * hears only a seq (another instance appended it), reads what it misses from storage, a page
 * at a time, as it asks for more. `return()` releases at once.
 */
export function createOutputStream({ after, read, pageSize, budget, release, onPage = () => {} }: OutputStreamOptions): OutputStream {
  let held: OutputChunk[] = [];
  /** Characters of `data` in `held`. */
  let heldChars = 0;
  /** The seq of the last chunk held or delivered. */
  let last = after;
  /** The highest seq known to be committed. */
  let known = after;
  let final = false;
  /** Whether storage was read to its end since the task was seen final. */
  let drained = false;
  let reading = false;
  /** Whether output was announced while a read was under way (the read may have missed it). */
  let announced = false;
  let ending = false;
  let stopped = false;
  let waiting: (() => void) | null = null;

  const done = (): IteratorResult<OutputChunk> => {
    if (!stopped) {
      stopped = true;
      held = [];
      heldChars = 0;
      release();
    }
    return { done: true, value: undefined };
  };

  const hold = (chunk: OutputChunk) => {
    held.push(chunk);
    heldChars += chunk.data.length;
    last = chunk.seq;
  };

  const wake = () => {
    const resolve = waiting;
    waiting = null;
    resolve?.();
  };

  async function readPage(): Promise<void> {
    const finalBefore = final;
    reading = true;
    announced = false;
    let rows: OutputChunk[];
    try {
      await nextTurn();
      rows = await read(last, pageSize);
    } finally {
      reading = false;
    }
    onPage();
    for (const row of rows) {
      if (row.seq !== last + 1) break;
      hold(row);
    }
    // A page may end early (a read holds a bounded number of bytes): only an empty one says
    // that storage had nothing more when it was read.
    if (rows.length === 0) {
      if (finalBefore) drained = true;
      // A higher seq known then is gone (deleted with its task).
      if (!announced) known = last;
    }
  }

  async function next(): Promise<IteratorResult<OutputChunk>> {
    for (;;) {
      if (stopped) return done();
      const chunk = held.shift();
      if (chunk) {
        heldChars -= chunk.data.length;
        return { done: false, value: chunk };
      }
      if (ending) return done();
      if (known > last || (final && !drained)) {
        try {
          await readPage();
        } catch (error) {
          done();
          throw error;
        }
        continue;
      }
      if (final) return done();
      await new Promise<void>((resolve) => {
        waiting = resolve;
      });
    }
  }

  const stream: OutputStream = {
    offerChunk(seq, chunk) {
      if (stopped || seq <= known) return;
      known = seq;
      if (reading) announced = true;
      else if (chunk && chunk.seq === last + 1 && held.length < pageSize && (held.length === 0 || heldChars + chunk.data.length <= budget)) hold(chunk);
      wake();
    },

    offerTask(task) {
      if (stopped) return;
      if (task.outputSeq > known) {
        known = task.outputSeq;
        if (reading) announced = true;
      }
      if (isFinal(task.status) && !final) {
        final = true;
        drained = false;
      }
      wake();
    },

    end() {
      ending = true;
      wake();
    },

    next,

    return() {
      const result = done();
      wake();
      return Promise.resolve(result);
    },

    throw(error?: unknown) {
      done();
      wake();
      return Promise.reject(error);
    },

    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
