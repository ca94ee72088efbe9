import { createHash, timingSafeEqual } from 'node:crypto';
import { OPEN_PRINCIPAL, type ApiKey, type Principal } from '../tasks/principal.js';

/** Maps an `Authorization` header value to its principal; null when it names no key. */
export type Authenticate = (authorization: string | null) => Principal | null;

/**
 * With no keys configured every caller is the open principal. Otherwise the bearer key is
 * compared with every configured key in constant time (over SHA-256 digests, so lengths do
 * not leak either), and the key itself is never kept beyond this function or logged.
 */
export function createAuthenticator(keys: readonly ApiKey[]): Authenticate {
  if (keys.length === 0) return () => OPEN_PRINCIPAL;
  const known = keys.map(({ key, tenant, role }, i) => ({ digest: digest(key), principal: Object.freeze({ tenant, role, keyId: `key${i + 1}` }) }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return null;
    const offered = digest(match[1]!);
    let found: Principal | null = null;
    for (const { digest: candidate, principal } of known) {
      if (timingSafeEqual(candidate, offered)) found = principal;
    }
    return found;
  };
}

const digest = (key: string) => createHash('sha256').update(key).digest();
