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
 * Sealed cursors for the `tasks` listing: the position (a sequence all tenants share) is
 * encrypted with AES-256-GCM, and the listing's scope (the tenant, or every tenant for an
 * admin) is authenticated with it. A client learns nothing from a cursor (not how many tasks
 * other tenants made in between), cannot make one, and cannot use another tenant's.
 * With the same key, cursors stay valid on every instance and after a restart.
 *
 * Deterministic: one position in one scope always gives the same cursor, so clients that
 * match pages by cursor (Apollo's pagination merges) keep working. The nonce is an HMAC of the
 * scope and the position under a key of its own, so it repeats only for the same message.
 */
export function createCursors(key: Uint8Array) {
  if (key.length !== 32) throw new Error('the cursor key must be 32 bytes');
  // One key for each use, both derived from the configured one.
  const sealKey = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), 'task cursors: seal', 32));
  const nonceKey = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), 'task cursors: nonce', 32));
  return {
    encode(principal: Principal, task: Task): string {
      const scope = scopeOf(principal);
      const position = Buffer.alloc(POSITION_BYTES);
      position.writeBigUInt64BE(BigInt(task.seq));
      const iv = createHmac('sha256', nonceKey).update(scope).update(position).digest().subarray(0, IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv).setAAD(scope);
      const sealed = Buffer.concat([cipher.update(position), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    },

    decode(principal: Principal, cursor: string): ListPosition {
      const bytes = Buffer.from(cursor, 'base64url');
      if (bytes.length === CURSOR_BYTES) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', sealKey, bytes.subarray(0, IV_BYTES)).setAAD(scopeOf(principal));
          decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
          const seq = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).readBigUInt64BE();
          if (seq <= BigInt(Number.MAX_SAFE_INTEGER)) return { seq: Number(seq) };
        } catch {
          // Not sealed with this key for this scope: refused below, like any other.
        }
      }
      throw badInput('after is not a cursor from this listing.');
    },
  };
}

export type Cursors = ReturnType<typeof createCursors>;

/** An admin lists every tenant's tasks: its cursors are its own, not any tenant's. */
const scopeOf = (principal: Principal): Buffer => Buffer.from(principal.role === 'admin' ? '\u0000every tenant' : `tenant\u0000${principal.tenant}`);
