import { sleep, wallNow } from './clock.js';

/**
 * Open-loop pacing: calls `fire(i)` for i = 0 … count − 1, the i-th at i ÷ rate seconds
 * after the start (all at once for an infinite rate), never waiting for earlier calls.
 * It checks every millisecond, so at 1,000/s requests leave one or two at a time.
 */
export async function paced(count: number, ratePerSecond: number, fire: (i: number) => void): Promise<void> {
  const start = wallNow();
  const intervalMs = 1_000 / ratePerSecond;
  let next = 0;
  while (next < count) {
    const due = intervalMs > 0 ? Math.min(count, Math.floor((wallNow() - start) / intervalMs) + 1) : count;
    while (next < due) fire(next++);
    if (next < count) await sleep(1);
  }
}
