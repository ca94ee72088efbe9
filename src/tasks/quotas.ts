import { DomainError } from './errors.js';

/**
 * Why a request was refused for capacity, as counted on `/metrics`: a bounded set of values,
 * never a tenant, key or address (those are unbounded or secret).
 */
export type RefusalReason =
  /** The tenant's writes per second, past its burst (`TENANT_WRITES_PER_SECOND`, `TENANT_WRITE_BURST`). */
  | 'tenant_write_rate'
  /** The tenant already has `MAX_QUEUED_PER_TENANT` queued tasks. */
  | 'tenant_queued_tasks'
  /** The API key already has `MAX_STREAMS_PER_KEY` open subscriptions (SSE and WebSocket). */
  | 'streams_per_key'
  /** The client address already has `MAX_STREAMS_PER_CLIENT` open subscriptions (SSE and WebSocket). */
  | 'streams_per_client'
  /** The client address already has `MAX_CONNECTIONS_PER_CLIENT` WebSocket connections, authenticated or not. */
  | 'connections_per_client'
  /** The API key already has `MAX_CONNECTIONS_PER_KEY` authenticated WebSocket connections. */
  | 'connections_per_key';

/** A RESOURCE_EXHAUSTED refusal of a quota: nothing was changed or held. */
export class QuotaError extends DomainError {
  override readonly name = 'QuotaError';

  constructor(
    readonly reason: RefusalReason,
    message: string,
    /** When a retry may succeed, in whole seconds (sent as `Retry-After` over HTTP, and as `extensions.retryAfterSeconds`). */
    readonly retryAfterSeconds?: number,
  ) {
    super('RESOURCE_EXHAUSTED', message);
    if (retryAfterSeconds !== undefined) this.extensions.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What `createTask` gets when its tenant already has `cap` queued tasks. */
export const queueFull = (cap: number) =>
  new QuotaError('tenant_queued_tasks', `This tenant has ${cap} queued tasks, the most it may have; new tasks are taken once some are claimed or cancelled.`);

/**
 * A token bucket per key (a tenant): `burst` tokens to start with, refilled at `ratePerSecond`
 * up to `burst`; each admitted call takes one. Time is the caller's clock, so a test can move
 * it. One bucket per key ever seen: keys here are tenants, which only the configured API keys
 * name.
 */
export function createTokenBuckets({ ratePerSecond, burst, now }: { ratePerSecond: number; burst: number; now: () => number }) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    /** Takes a token of `key`'s bucket: 0 when there was one, else how many seconds until there is (nothing taken). */
    take(key: string): number {
      const time = now();
      let bucket = buckets.get(key);
      if (!bucket) buckets.set(key, (bucket = { tokens: burst, at: time }));
      // A clock that steps back refills nothing, and takes nothing away either.
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, time - bucket.at) / 1000) * ratePerSecond);
      bucket.at = time;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return (1 - bucket.tokens) / ratePerSecond;
    },
  };
}

/**
 * Counts held by key, each capped: `take` counts one against every key it is given, or none
 * when any of them is at its cap; the release it returns gives them back, once however often
 * it is called.
 */
export function createSlotCounter() {
  const held = new Map<string, number>();
  return {
    /** `limits`: each key with its cap and the reason to give when it is reached. Throws a QuotaError, holding nothing, when one is full. */
    take(limits: readonly { key: string; cap: number; reason: RefusalReason; message: string }[]): () => void {
      for (const { key, cap, reason, message } of limits) {
        if ((held.get(key) ?? 0) >= cap) throw new QuotaError(reason, message);
      }
      for (const { key } of limits) held.set(key, (held.get(key) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const { key } of limits) {
          const left = held.get(key)! - 1;
          if (left === 0) held.delete(key);
          else held.set(key, left);
        }
      };
    },
    /** How many `key` holds now. */
    count: (key: string): number => held.get(key) ?? 0,
  };
}
