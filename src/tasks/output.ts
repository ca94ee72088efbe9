import { badInput, resourceExhausted } from './errors.js';
import { assertCanAppendOutput, type Task } from './task.js';
import { checkStorableText } from './validate.js';

/** One chunk of a task's output (logs, or the partial output of a model run). */
export interface OutputChunk {
  /** 1, 2, 3 … per task, in append order, no gaps. */
  seq: number;
  /** Which stream it belongs to, e.g. "log", "stdout", "tokens". */
  stream: string;
  data: string;
  at: Date;
}

/** A chunk on its way into storage, which gives it its `seq`. */
export interface NewOutputChunk {
  stream: string;
  data: string;
  at: Date;
  /** UTF-8 bytes of `data`. */
  bytes: number;
}

/** What an append reads of its task to decide whether to take the chunk. */
export type OutputTarget = Pick<Task, 'id' | 'tenant' | 'status' | 'workerId' | 'outputSeq' | 'outputBytes'>;

export interface OutputLimits {
  /** Largest chunk, in UTF-8 bytes of its `data`. */
  maxOutputChunkBytes: number;
  /** Most output one task may hold, in UTF-8 bytes over all its chunks. */
  maxOutputBytesPerTask: number;
}

/** Most chunks one read returns (`Task.output`'s and `awaitTaskOutput`'s `first`). */
export const MAX_OUTPUT_PAGE = 1000;

/**
 * Output one read holds: a read ends with the chunk that reaches this many UTF-8 bytes (a
 * single larger chunk still comes whole), so a page of large chunks cannot take 1000 × 64 KiB.
 */
export const OUTPUT_READ_BUDGET_BYTES = 1024 * 1024;

const STREAM = /^[A-Za-z0-9_.:-]{1,32}$/;

/** A stream name: 1 to 32 letters, digits and `_.:-`. */
export function checkStream(stream: string): void {
  if (!STREAM.test(stream)) throw badInput('stream must be 1 to 32 characters of letters, digits and _.:-');
}

/** The chunk `data` as stored: Unicode text without NUL, at most `maxBytes` of UTF-8; returns its size in bytes. */
export function checkChunk(data: string, maxBytes: number): number {
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes > maxBytes) throw resourceExhausted(`An output chunk may hold at most ${maxBytes} bytes of UTF-8; this one has ${bytes}.`);
  checkStorableText('data', data);
  return bytes;
}

/**
 * Whether this task takes one more chunk of `bytes` (decided inside the append's transaction):
 * it must be RUNNING, under `workerId`'s lease, and stay within its output cap.
 */
export function checkAppend(task: OutputTarget, workerId: string | null | undefined, bytes: number, maxBytesPerTask: number): void {
  assertCanAppendOutput(task, workerId);
  if (task.outputBytes + bytes > maxBytesPerTask) {
    throw resourceExhausted(`A task's output may hold at most ${maxBytesPerTask} bytes; this task has ${task.outputBytes}, and the chunk ${bytes} more.`);
  }
}

/** `first` of a read of output, clamped to 1..MAX_OUTPUT_PAGE; `after` a seq, 0 or more. */
export function checkOutputRange(after: number, first: number): number {
  if (!Number.isSafeInteger(after) || after < 0) throw badInput('after must be an integer, 0 or more.');
  if (!Number.isFinite(first)) throw badInput('first must be an integer.');
  return Math.min(Math.max(Math.trunc(first), 1), MAX_OUTPUT_PAGE);
}
