import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { badInput } from './errors.js';
import type { Principal } from './principal.js';
import type { ListPosition } from './store.js';
import type { Task } from './task.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The position, sealed at a fixed width: a cursor's length says nothing about how far the sequence has come. */
const POSITION_BYTES = 8;
const CURSOR_BYTES = IV_BYTES + TAG_BYTES + POSITION_BYTES;

/**
 * Sealed cursors: a position is encrypted with AES-256-GCM, and its scope (whose listing or
 * feed it is a place in) is authenticated with it. A client learns nothing from a cursor (not
 * how many tasks other tenants made in between), cannot make one, and cannot use another
 * tenant's. With the same key, cursors stay valid on every instance and after a restart.
 *
 * Two kinds, each sealed with keys of its own, so that one is never taken for the other:
 * - `tasks` listing cursors: the position is the task's `seq` (a sequence all tenants share);
 *   the scope is the tenant, or every tenant for an admin.
 * - feed cursors: a position in one tenant's change feed; the scope is that tenant (an admin
 *   reads its own tenant's feed).
 *
 * Deterministic: one position in one scope always gives the same cursor, so clients that
 * match pages by cursor (Apollo's pagination merges) keep working. The nonce is an HMAC of the
 * scope and the position under a key of its own, so it repeats only for the same message.
 */
export function createCursors(key: Uint8Array) {
  if (key.length !== 32) throw new Error('the cursor key must be 32 bytes');
  const list = sealer(key, 'task cursors');
  const feed = sealer(key, 'task feed cursors');
  // Every reader of a feed is handed the cursor of the same few positions, and comes back with it.
  const sealedFeed = remembered<string>(FEED_CURSORS_REMEMBERED);
  const openedFeed = remembered<number | null>(FEED_CURSORS_REMEMBERED);
  return {
    encode: (principal: Principal, task: Task): string => list.seal(listScope(principal), task.seq),

    decode(principal: Principal, cursor: string): ListPosition {
      const seq = list.open(listScope(principal), cursor);
      if (seq === null) throw badInput('after is not a cursor from this listing.');
      return { seq };
    },

    /** A cursor naming `position` in the feed of `principal`'s tenant. */
    encodeFeed: (principal: Principal, position: number): string =>
      sealedFeed(`${principal.tenant.length}:${principal.tenant}${position}`, () => feed.seal(feedScope(principal), position)),

    /** The position a feed cursor of `principal`'s tenant names; BAD_USER_INPUT for anything else. */
    decodeFeed(principal: Principal, cursor: string): number {
      const position = openedFeed(`${principal.tenant.length}:${principal.tenant}${cursor}`, () => feed.open(feedScope(principal), cursor));
      if (position === null) throw badInput('after is not a cursor of this tenant\'s change feed.');
      return position;
    },
  };
}

export type Cursors = ReturnType<typeof createCursors>;

/** Feed cursors kept sealed and opened, each way: sealing or opening one costs an HMAC or an AES-GCM pass. */
const FEED_CURSORS_REMEMBERED = 4096;

/** Remembers up to `size` computed values by key, the oldest forgotten first; null (a cursor refused) is not remembered. */
function remembered<T>(size: number) {
  const values = new Map<string, T>();
  return (key: string, compute: () => T): T => {
    const known = values.get(key);
    if (known !== undefined) return known;
    const value = compute();
    if (value === null) return value;
    if (values.size >= size) values.delete(values.keys().next().value!);
    values.set(key, value);
    return value;
  };
}

/** Seals and opens positions for one kind of cursor, with keys derived for it alone from the configured one. */
function sealer(key: Uint8Array, purpose: string) {
  const sealKey = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), `${purpose}: seal`, 32));
  const nonceKey = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), `${purpose}: nonce`, 32));
  return {
    seal(scope: Buffer, value: number): string {
      const position = Buffer.alloc(POSITION_BYTES);
      position.writeBigUInt64BE(BigInt(value));
      const iv = createHmac('sha256', nonceKey).update(scope).update(position).digest().subarray(0, IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv).setAAD(scope);
      const sealed = Buffer.concat([cipher.update(position), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    },

    /** The position sealed in `cursor` for `scope`; null when it is not one. */
    open(scope: Buffer, cursor: string): number | null {
      const bytes = Buffer.from(cursor, 'base64url');
      if (bytes.length !== CURSOR_BYTES) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', sealKey, bytes.subarray(0, IV_BYTES)).setAAD(scope);
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        const value = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).readBigUInt64BE();
        return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
      } catch {
        // Not sealed with this key for this scope.
        return null;
      }
    },
  };
}

/** An admin lists every tenant's tasks: its cursors are its own, not any tenant's. */
const listScope = (principal: Principal): Buffer => Buffer.from(principal.role === 'admin' ? '\u0000every tenant' : `tenant\u0000${principal.tenant}`);

/** A feed is one tenant's, whoever reads it. */
const feedScope = (principal: Principal): Buffer => Buffer.from(`feed\u0000${principal.tenant}`);
