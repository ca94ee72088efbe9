import { describe, expect, it } from 'vitest';
import { LONG_POLL_SECONDS, LongPollPool, type Grant } from '../../web/src/longPollPool.js';

/** Whether a promise has settled, after everything already queued has run. */
async function settled<T>(promise: Promise<T>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

describe('LongPollPool (the dashboard’s share of the browser’s connections)', () => {
  it('hands a released connection to the task that waited longest, not back to the one that released it', async () => {
    const pool = new LongPollPool(2);
    const signal = new AbortController().signal;
    for (let n = 0; n < 4; n++) pool.follow();
    const a = await pool.acquire(signal);
    const b = await pool.acquire(signal);
    const c = pool.acquire(signal);
    const d = pool.acquire(signal);
    expect(await settled(c)).toBe(false);

    // A's answer came: it releases and at once asks again, as every long-poll loop of the page does.
    a.release();
    const aAgain = pool.acquire(signal);
    expect(await settled(c)).toBe(true);
    expect(await settled(aAgain)).toBe(false);
    b.release();
    const bAgain = pool.acquire(signal);
    expect(await settled(d)).toBe(true);
    expect(await settled(bAgain)).toBe(false);

    // And round again: A before B, in the order they queued.
    (await c).release();
    expect(await settled(aAgain)).toBe(true);
    expect(await settled(bAgain)).toBe(false);
    (await d).release();
    expect(await settled(bAgain)).toBe(true);
  });

  it('cuts the holds short while more tasks are followed than it has connections, and ends the long ones already held', async () => {
    const pool = new LongPollPool(2);
    const signal = new AbortController().signal;
    const stops = [pool.follow(), pool.follow()];
    const long: Grant = await pool.acquire(signal);
    expect(long.seconds).toBe(LONG_POLL_SECONDS);
    stops.push(pool.follow());
    expect(long.signal.aborted).toBe(true);
    long.release();
    const short = await pool.acquire(signal);
    expect(short.seconds).toBeLessThanOrEqual(1);
    short.release();
    stops.pop()!();
    expect((await pool.acquire(signal)).seconds).toBe(LONG_POLL_SECONDS);
  });

  it('a waiting task that stops is taken out of the line, and the connection goes to the next', async () => {
    const pool = new LongPollPool(1);
    for (let n = 0; n < 3; n++) pool.follow();
    const held = await pool.acquire(new AbortController().signal);
    const leaving = new AbortController();
    const gone = pool.acquire(leaving.signal);
    const next = pool.acquire(new AbortController().signal);
    leaving.abort(new Error('card unmounted'));
    await expect(gone).rejects.toThrow('card unmounted');
    held.release();
    expect(await settled(next)).toBe(true);
  });
});
