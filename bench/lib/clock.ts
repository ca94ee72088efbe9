/**
 * Wall-clock time in milliseconds with sub-millisecond precision. Unlike `performance.now()`
 * it is comparable across processes on one machine, and with the server's `Date.now()`.
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  /** Give up after this long, in ms. */
  timeoutMs: number;
  /** Check this often, in ms. @default 50 */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what: string;
}

/** Re-checks `condition` until it holds; throws once `timeoutMs` has passed. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, { timeoutMs, intervalMs = 50, what }: WaitOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
