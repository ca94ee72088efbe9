/**
 * The conflating stream behind `taskUpdated`: what a reader gets, in which order, when the
 * stream ends, and that what it holds is released exactly once however it ends.
 */
import { describe, expect, it } from 'vitest';
import { createTaskStream } from '../../src/tasks/stream.js';
import { createTask, type Task, type TaskStatus } from '../../src/tasks/task.js';

const t0 = new Date('2026-11-05T10:00:00.000Z');
const base = createTask({ id: 'a', tenant: 't', kind: 'k', input: null, idempotencyKey: null, maxAttempts: 1 }, t0);
const state = (revision: number, status: TaskStatus = 'RUNNING'): Task => ({ ...base, revision, status });

/** A stream with a count of how often it released what it holds. */
function counted(afterRevision: number | null = null) {
  const released = { count: 0 };
  const stream = createTaskStream(afterRevision, () => released.count++);
  return { stream, released };
}

const DONE = { done: true, value: undefined };

/** The stream's next result if it is there after pending callbacks ran; 'pending' if not. */
async function settled(next: Promise<IteratorResult<Task>>): Promise<IteratorResult<Task> | 'pending'> {
  return Promise.race([next, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('task stream', () => {
  it('a reader that waits gets each state as it is offered', async () => {
    const { stream } = counted();
    const first = stream.next();
    expect(await settled(first)).toBe('pending');
    stream.offer(state(2));
    expect(await first).toEqual({ done: false, value: state(2) });
    const second = stream.next();
    stream.offer(state(3));
    expect(await second).toEqual({ done: false, value: state(3) });
  });

  it('a reader that lags gets the newest state only, once', async () => {
    const { stream } = counted();
    stream.offer(state(2));
    stream.offer(state(3));
    stream.offer(state(4));
    expect(await stream.next()).toEqual({ done: false, value: state(4) });
    expect(await settled(stream.next())).toBe('pending');
  });

  it('ignores a state no newer than the last one offered or than afterRevision', async () => {
    const { stream } = counted(3);
    stream.offer(state(2));
    stream.offer(state(3));
    expect(await settled(stream.next())).toBe('pending');
    const { stream: fresh } = counted(null);
    fresh.offer(state(1));
    expect(await fresh.next()).toEqual({ done: false, value: state(1) });
    fresh.offer(state(5));
    fresh.offer(state(4));
    expect(await fresh.next()).toEqual({ done: false, value: state(5) });
    expect(await settled(fresh.next())).toBe('pending');
  });

  it('ends after delivering a final state, ignores what comes after, and releases once', async () => {
    const { stream, released } = counted();
    stream.offer(state(2, 'COMPLETED'));
    stream.offer(state(3, 'RUNNING'));
    expect(released.count).toBe(0);
    expect(await stream.next()).toEqual({ done: false, value: state(2, 'COMPLETED') });
    expect(await stream.next()).toEqual(DONE);
    expect(await stream.next()).toEqual(DONE);
    expect(released.count).toBe(1);
  });

  it('a final state offered to a waiting reader is delivered, then the stream ends', async () => {
    const { stream, released } = counted();
    const next = stream.next();
    stream.offer(state(2, 'FAILED'));
    expect(await next).toEqual({ done: false, value: state(2, 'FAILED') });
    expect(await stream.next()).toEqual(DONE);
    expect(released.count).toBe(1);
  });

  it('end() with a state held delivers that state first, then ends', async () => {
    const { stream, released } = counted();
    stream.offer(state(2));
    stream.end();
    stream.offer(state(3));
    expect(await stream.next()).toEqual({ done: false, value: state(2) });
    expect(await stream.next()).toEqual(DONE);
    expect(released.count).toBe(1);
  });

  it('end() answers a waiting reader with the end at once and releases', async () => {
    const { stream, released } = counted();
    const next = stream.next();
    stream.end();
    expect(await settled(next)).toEqual(DONE);
    expect(released.count).toBe(1);
    stream.end();
    expect(await stream.next()).toEqual(DONE);
    expect(released.count).toBe(1);
  });

  it('end() with nobody reading: the next read gets the end, and releases', async () => {
    const { stream, released } = counted();
    stream.end();
    expect(await stream.next()).toEqual(DONE);
    expect(released.count).toBe(1);
  });

  it('return() drops what is held, answers a waiting reader, and releases once', async () => {
    const { stream, released } = counted();
    const waiting = stream.next();
    expect(await stream.return!()).toEqual(DONE);
    expect(await waiting).toEqual(DONE);
    expect(released.count).toBe(1);
    stream.offer(state(2));
    expect(await stream.next()).toEqual(DONE);
    expect(await stream.return!()).toEqual(DONE);
    expect(released.count).toBe(1);

    const { stream: holding, released: holdingReleased } = counted();
    holding.offer(state(2));
    await holding.return!();
    expect(await holding.next()).toEqual(DONE);
    expect(holdingReleased.count).toBe(1);
  });

  it('throw() rejects with the error and releases', async () => {
    const { stream, released } = counted();
    const boom = new Error('client went away');
    await expect(stream.throw!(boom)).rejects.toBe(boom);
    expect(released.count).toBe(1);
    expect(await stream.next()).toEqual(DONE);
  });

  it('is its own async iterator: for await reads it to the final state', async () => {
    const { stream, released } = counted();
    expect(stream[Symbol.asyncIterator]()).toBe(stream);
    stream.offer(state(2));
    const seen: number[] = [];
    const reading = (async () => {
      for await (const task of stream) {
        seen.push(task.revision);
        if (task.revision === 2) stream.offer(state(3, 'CANCELLED'));
      }
    })();
    await reading;
    expect(seen).toEqual([2, 3]);
    expect(released.count).toBe(1);
  });
});
