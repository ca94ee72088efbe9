import type { IncomingMessage, ServerResponse } from 'node:http';

/** What both pages' policies hold: connections to this server only, no plugins, base, forms or framing. */
const LOCKED_DOWN = ["connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"];

/**
 * The dashboard's policy: its own scripts, styles and connections only (Vite's build has no
 * inline script or style; React sets styles through the CSSOM, which `style-src` does not
 * govern), the favicon as a `data:` image, never framed. `connect-src 'self'` covers the
 * WebSocket to the same host and port.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  ...LOCKED_DOWN,
].join('; ');

/**
 * GraphiQL's policy: its page is one inline script and stylesheet (from
 * `@graphql-yoga/render-graphiql`, with Monaco's workers as `blob:` URLs and styles it adds
 * at run time), so inline code must run; what the policy still holds is where the page may
 * connect and load from (this server only) and that no other site frames it.
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' blob:",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  ...LOCKED_DOWN,
].join('; ');

/** On every response: no content-type sniffing (a JSON answer is never run as a script or page). */
export function setNoSniff(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
}

/** For pages (the dashboard, GraphiQL): their policy, never framed (`X-Frame-Options` for browsers without CSP), no `Referer` sent on. */
export function setPageHeaders(res: ServerResponse, policy: string): void {
  res.setHeader('content-security-policy', policy);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
}

/** A request Yoga answers with GraphiQL when it is enabled: a GET that accepts HTML (Yoga's own test). */
export const mayBeGraphiQL = (req: IncomingMessage): boolean => req.method === 'GET' && (req.headers.accept?.includes('text/html') ?? false);
