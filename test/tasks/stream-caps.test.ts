import { afterEach, expect, it } from 'vitest';
import { DomainError } from '../../src/tasks/errors.js';
import type { Principal } from '../../src/tasks/principal.js';
import { createTestService } from '../helpers/service.js';

/*
 * The places subscription streams take under MAX_STREAMS_PER_CLIENT (per address) and
 * MAX_STREAMS_PER_KEY (per API key), in the domain; over HTTP, SSE and graphql-ws in
 * test/security/stream-caps.test.ts.
 */

const keyA: Principal = { tenant: 't', role: 'client', keyId: 'a' };
const keyB: Principal = { tenant: 't', role: 'client', keyId: 'b' };
/** Open mode: no key, so only the address counts. */
const keyless: Principal = { tenant: 't', role: 'admin' };

let ctx: ReturnType<typeof createTestService> | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

/** What reserving a place gave: 'ok' (the release kept in `held`) or the refusal's code and message. */
function reserve(principal: Principal, client: string, held: (() => void)[]): string {
  try {
    held.push(ctx!.tasks.reserveStream(principal, client));
    return 'ok';
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

it('caps places per API key and per address, each refusal coded and holding nothing; a released place is free again', () => {
  ctx = createTestService({ limits: { maxStreamsPerClient: 3, maxStreamsPerKey: 2 } });
  const held: (() => void)[] = [];
  expect([reserve(keyA, 'x', held), reserve(keyA, 'y', held)]).toEqual(['ok', 'ok']);
  expect(reserve(keyA, 'z', held)).toBe('RESOURCE_EXHAUSTED: This API key has 2 subscriptions open, the most it may have; end one first.');
  // Another key from the same address: its own key's places, the address's last one.
  expect([reserve(keyB, 'x', held), reserve(keyB, 'x', held)]).toEqual(['ok', 'ok']);
  expect(reserve(keyless, 'x', held)).toBe('RESOURCE_EXHAUSTED: This client address has 3 subscriptions open, the most it may have; end one first.');
  // Without a key only the address counts: three places at a fresh address, not two.
  expect([reserve(keyless, 'w', held), reserve(keyless, 'w', held), reserve(keyless, 'w', held)]).toEqual(['ok', 'ok', 'ok']);
  expect(reserve(keyless, 'w', held)).toMatch(/^RESOURCE_EXHAUSTED: This client address/);
  // The refusals held nothing, and a release frees exactly its own place (key a, address x).
  held[0]!();
  expect(reserve(keyA, 'z', held)).toBe('ok');
  expect(reserve(keyA, 'z', held)).toMatch(/^RESOURCE_EXHAUSTED: This API key/);
  expect(reserve(keyless, 'x', held)).toBe('ok');
});

it('a stream gives its place back when it ends', async () => {
  ctx = createTestService({ limits: { maxStreamsPerClient: 1, maxStreamsPerKey: 1 } });
  const writer: Principal = { tenant: 't', role: 'worker', keyId: 'w' };
  const { id } = await ctx.tasks.create(writer, { kind: 'k', maxAttempts: 1 });
  const stream = await ctx.tasks.follow(keyA, { id, client: 'x' });
  expect(reserve(keyA, 'y', [])).toMatch(/^RESOURCE_EXHAUSTED: This API key/);
  await stream.return?.();
  const held: (() => void)[] = [];
  expect(reserve(keyA, 'y', held)).toBe('ok');
  held[0]!();
});
