import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Why a request is not served: answered with `status` and a JSON error carrying `code`. */
export interface Refusal {
  status: 400 | 403;
  code: 'BAD_REQUEST' | 'FORBIDDEN';
  message: string;
}

export interface OriginPolicy {
  /** `CORS_ORIGINS`: origins (as browsers send them, e.g. `https://app.example.com`) allowed besides the server's own. */
  allowedOrigins: readonly string[];
  /** Open mode (no API keys): only loopback `Host` names (and the hosts of `allowedOrigins`) are served. */
  checkHost: boolean;
  /** `AUTH=none`: open mode on the network, where clients reach the server by its address; any IP address is a good `Host` then. */
  acceptIpHosts: boolean;
  /** `HOST`, what the server listens on: a `Host` with that name (any port) is this server. */
  serverHost: string;
}

/** A function of the request's headers: null to serve it, or why not. */
export type RequestGuard = (req: IncomingMessage) => Refusal | null;

/**
 * What browsers may do here, for every HTTP request and every WebSocket upgrade:
 *
 * - A request that carries an `Origin` is served only when that origin is the server's own
 *   (its host is the request's `Host`) or listed. Browsers send `Origin` on every cross-origin
 *   request, preflights and WebSocket upgrades included, so another site's page can neither
 *   pass a preflight nor get a simple request (a form, a `text/plain` POST) or a WebSocket
 *   served. Requests without `Origin` (curl, servers, same-origin GETs) are unaffected.
 * - In open mode anything that reaches the port is trusted, and a DNS-rebinding page (a name
 *   of the attacker's that resolves to 127.0.0.1) is same-origin with itself: its requests
 *   carry its own name as `Host`. So `Host` must then be a loopback name (`localhost`,
 *   `127.x.y.z`, `[::1]`, any port), the name `HOST` gives, a host of a listed origin, or with
 *   `AUTH=none` any IP address (a browser sends an address as `Host` only when it connected to
 *   that address). None of these is a name an attacker's DNS answers for.
 */
export function createRequestGuard({ allowedOrigins, checkHost, acceptIpHosts, serverHost }: OriginPolicy): RequestGuard {
  const listed = new Set(allowedOrigins);
  const listedHosts = new Set(allowedOrigins.map((origin) => new URL(origin).host));
  const ownName = parseUrl(`http://${serverHost.includes(':') ? `[${serverHost}]` : serverHost}`)?.hostname;
  return (req) => {
    const host = req.headers.host?.toLowerCase();
    if (checkHost && host !== undefined && !hostAllowed(host, listedHosts, ownName, acceptIpHosts)) {
      return { status: 403, code: 'FORBIDDEN', message: 'This Host is not served: with no API keys, only a loopback name (localhost, 127.0.0.1, [::1]) is.' };
    }
    // Yoga builds the request's URL from `Host`: one that makes no URL failed there with a 500 and its stack.
    if (host !== undefined && parseUrl(`http://${host}`) === null) {
      return { status: 400, code: 'BAD_REQUEST', message: 'The Host header is not a valid host.' };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !listed.has(origin) && !isOwnOrigin(origin, host)) {
      return { status: 403, code: 'FORBIDDEN', message: 'Requests from this origin are not allowed (see CORS_ORIGINS).' };
    }
    return null;
  };
}

/** `http://host` or `https://host` where host is the request's `Host`: a page of this server (or of the proxy in front of it, forwarding `Host`). */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const url = parseUrl(origin);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host && origin === url.origin;
}

function hostAllowed(host: string, listedHosts: ReadonlySet<string>, ownName: string | undefined, acceptIpHosts: boolean): boolean {
  if (listedHosts.has(host)) return true;
  const name = parseUrl(`http://${host}`)?.hostname;
  if (name === undefined) return false;
  if (isLoopbackHost(name) || name === ownName) return true;
  return acceptIpHosts && isIP(name.replace(/^\[(.*)\]$/, '$1')) !== 0;
}

/** `localhost`, an IPv4 address in 127.0.0.0/8, or `::1` (bracketed or not). */
export function isLoopbackHost(name: string): boolean {
  const bare = name.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/**
 * Yoga's `cors` option: CORS headers for listed origins only, without
 * `Access-Control-Allow-Credentials` (keys travel in `Authorization`; the service sets no
 * cookies). Yoga's default reflects any `Origin` with credentials. Other origins get no
 * CORS headers, and the request guard refuses them before Yoga sees them.
 */
export function corsForOrigins(allowedOrigins: readonly string[]) {
  const listed = new Set(allowedOrigins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !listed.has(origin)) return false as const;
    return {
      origin,
      methods: ['GET', 'POST'],
      credentials: false,
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    };
  };
}
