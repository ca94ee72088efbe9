import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { useApps, type TestApp } from '../helpers/app.js';
import { bearer, codes } from '../helpers/graphql.js';

/**
 * What a web page in a visitor's browser can do to the service,
 * each case over a real socket: which Origin and Host are served, CORS, WebSocket upgrades from
 * other origins, the browser-facing headers, source maps, the production defaults of GraphiQL
 * and introspection, and who may read /metrics.
 */

const apps = useApps();
const EVIL = 'https://evil.example';
const APP_ORIGIN = 'https://app.example';
const CREATE = 'mutation { createTask(kind: "cross-origin") { id } }';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => any;
}

/**
 * One HTTP request over a real socket with exactly these headers (`host` included, which fetch
 * will not let a caller set).
 */
function send(base: string, path: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Like `send`, with the body as raw bytes (for compressed answers). */
function sendForBytes(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A JSON POST of `query` to /graphql with these headers. */
const postJson = (t: TestApp, query: string, headers: Record<string, string> = {}) =>
  send(t.url, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

/** The status of a WebSocket upgrade to /graphql with these headers: 101 when accepted. */
const upgradeStatus = async (t: TestApp, headers: Record<string, string>): Promise<number> => (await upgradeAnswer(t, headers)).status;

/** The answer to a WebSocket upgrade to /graphql with these headers: its status (101 when accepted), content type, and body, read whole when refused. */
function upgradeAnswer(t: TestApp, headers: Record<string, string>): Promise<{ status: number; type?: string; length?: string; body?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${t.url}/graphql`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': 'graphql-transport-ws',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode! });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], length: res.headers['content-length'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const taskCount = async (t: TestApp, kind = 'cross-origin') =>
  (await t.gql(`query($k: String) { tasks(kind: $k, first: 100) { edges { cursor } } }`, { k: kind })).data.tasks.edges.length;

const ownOrigin = (t: TestApp) => new URL(t.url).origin;
const hostOf = (t: TestApp) => new URL(t.url).host;
const portOf = (t: TestApp) => new URL(t.url).port;

describe('CORS_ORIGINS', () => {
  it('parses a comma-separated list of origins (a trailing slash dropped); refuses anything that is not one, naming the variable', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: ' https://app.example , http://localhost:5173/,https://A.Example:8443' }).corsOrigins).toEqual([
      'https://app.example',
      'http://localhost:5173',
      'https://a.example:8443',
    ]);
    for (const value of ['*', 'null', 'app.example', 'ftp://app.example', 'https://app.example/path', 'https://app.example?x=1', 'https://user@app.example']) {
      let error: unknown;
      try {
        loadConfig({ CORS_ORIGINS: value });
      } catch (caught) {
        error = caught;
      }
      expect(error, value).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/\bCORS_ORIGINS\b/);
    }
  });
});

describe('cross-origin HTTP', () => {
  it('by default (same origin only) a preflight from another origin fails: 403 and no CORS headers', async () => {
    const t = await apps.start();
    const preflight = await send(t.url, '/graphql', {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('a POST that carries a foreign Origin runs nothing: 403 FORBIDDEN, as a JSON POST or as a simple text/plain one', async () => {
    const t = await apps.start();
    const json = await postJson(t, CREATE, { origin: EVIL });
    expect([json.status, codes(json.json())]).toEqual([403, ['FORBIDDEN']]);
    expect(json.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await send(t.url, '/graphql', { method: 'POST', headers: { origin: EVIL, 'content-type': 'text/plain' }, body: JSON.stringify({ query: CREATE }) });
    expect([simple.status, codes(simple.json())]).toEqual([403, ['FORBIDDEN']]);
    // `null` is the origin of sandboxed frames and local files: foreign too.
    expect((await postJson(t, CREATE, { origin: 'null' })).status).toBe(403);
    // A GET (a query, an SSE stream) and the other routes likewise.
    const get = await send(t.url, `/graphql?query=${encodeURIComponent('{ tasks { edges { cursor } } }')}`, { headers: { origin: EVIL, accept: 'application/json' } });
    expect([get.status, codes(get.json())]).toEqual([403, ['FORBIDDEN']]);
    const rest = await send(t.url, '/api/queue/poll/x', { headers: { origin: EVIL } });
    expect([rest.status, rest.json().error.code]).toEqual([403, 'FORBIDDEN']);
    expect(await taskCount(t)).toBe(0);
  });

  it('the server’s own origin and requests without an Origin (curl, servers) are served as before', async () => {
    const t = await apps.start();
    const own = await postJson(t, CREATE, { origin: ownOrigin(t) });
    expect([own.status, own.json().errors]).toEqual([200, undefined]);
    expect(own.headers['access-control-allow-origin']).toBeUndefined();
    expect((await postJson(t, CREATE)).status).toBe(200);
    expect(await taskCount(t)).toBe(2);
  });

  it('a listed origin gets CORS headers (without credentials: keys go in Authorization, never cookies) and its requests run', async () => {
    const t = await apps.start({ CORS_ORIGINS: `${APP_ORIGIN},http://localhost:5173`, API_KEYS: 'browser-app-key-0001:acme:client' });
    const preflight = await send(t.url, '/graphql', {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(preflight.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/i);
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

    const created = await postJson(t, CREATE, { origin: APP_ORIGIN, ...bearer('browser-app-key-0001') });
    expect([created.status, created.json().errors]).toEqual([200, undefined]);
    expect(created.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(created.headers['access-control-allow-credentials']).toBeUndefined();
    // The answer depends on the Origin: a shared cache must not hand it to another.
    expect(created.headers.vary).toMatch(/\bOrigin\b/);
    expect((await postJson(t, '{ __typename }', bearer('browser-app-key-0001'))).headers.vary).toMatch(/\bOrigin\b/);

    // One listed origin is no licence for another.
    const other = await postJson(t, CREATE, { origin: EVIL, ...bearer('browser-app-key-0001') });
    expect([other.status, codes(other.json())]).toEqual([403, ['FORBIDDEN']]);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('cross-origin WebSocket upgrades', () => {
  it('an upgrade whose Origin is neither the server’s own nor listed gets HTTP 403 with a coded JSON error; without an Origin, from its own or a listed one it opens', async () => {
    const t = await apps.start({ CORS_ORIGINS: APP_ORIGIN });
    const refused = await upgradeAnswer(t, { origin: EVIL });
    expect([refused.status, refused.type, Number(refused.length)]).toEqual([403, 'application/json; charset=utf-8', Buffer.byteLength(refused.body!)]);
    expect(codes(JSON.parse(refused.body!))).toEqual(['FORBIDDEN']);
    expect(await upgradeStatus(t, { origin: 'null' })).toBe(403);
    expect(await upgradeStatus(t, {})).toBe(101);
    expect(await upgradeStatus(t, { origin: ownOrigin(t) })).toBe(101);
    expect(await upgradeStatus(t, { origin: APP_ORIGIN })).toBe(101);
    expect(t.app.server.listenerCount('upgrade')).toBe(1);
  });
});

describe('Host in open mode (DNS rebinding)', () => {
  const ROUTES = ['/graphql?query=%7B__typename%7D', '/healthz', '/readyz', '/metrics', '/api/queue/poll/x', '/', '/index.html'];

  it('a foreign Host gets 403 with a coded JSON error on every route, and on the WebSocket upgrade', async () => {
    const t = await apps.start();
    for (const path of ROUTES) {
      const answer = await send(t.url, path, { headers: { host: `rebound.evil.example:${portOf(t)}`, accept: 'application/json' } });
      expect(answer.status, path).toBe(403);
      expect(answer.headers['content-type'], path).toMatch(/^application\/json/);
      const body = answer.json();
      expect(body.errors?.[0]?.extensions?.code ?? body.error?.code, path).toBe('FORBIDDEN');
    }
    const created = await postJson(t, CREATE, { host: `rebound.evil.example:${portOf(t)}`, origin: `http://rebound.evil.example:${portOf(t)}` });
    expect([created.status, codes(created.json())]).toEqual([403, ['FORBIDDEN']]);
    expect(await upgradeStatus(t, { host: `rebound.evil.example:${portOf(t)}` })).toBe(403);
    expect(await taskCount(t)).toBe(0);
  });

  it('loopback names are served, with any port or none: localhost, 127.0.0.1, [::1]', async () => {
    const t = await apps.start();
    for (const host of ['localhost', `localhost:${portOf(t)}`, 'LOCALHOST:1', '127.0.0.1', hostOf(t), '[::1]', `[::1]:${portOf(t)}`]) {
      expect((await send(t.url, '/healthz', { headers: { host } })).status, host).toBe(200);
    }
    const own = await postJson(t, CREATE, { host: `localhost:${portOf(t)}`, origin: `http://localhost:${portOf(t)}` });
    expect(own.status).toBe(200);
    expect(await upgradeStatus(t, { host: `localhost:${portOf(t)}`, origin: `http://localhost:${portOf(t)}` })).toBe(101);
  });

  it('with API keys any Host is served (a rebound page has no key); AUTH=none also takes IP addresses and HOST’s name; a listed origin’s host is taken', async () => {
    const keyed = await apps.start({ API_KEYS: 'host-check-key-0001:acme:client' });
    expect((await send(keyed.url, '/healthz', { headers: { host: 'tasks.example.com' } })).status).toBe(200);

    const network = await apps.start({ AUTH: 'none', HOST: '0.0.0.0' });
    expect((await send(network.url, '/healthz', { headers: { host: '10.1.2.3:4000' } })).status).toBe(200);
    expect((await send(network.url, '/healthz', { headers: { host: '[fd00::5]:4000' } })).status).toBe(200);
    expect((await send(network.url, '/healthz', { headers: { host: 'tasks.example.com' } })).status).toBe(403);
    // The name HOST gives is this server's own: no rebinding page can take it.
    const named = await apps.start({ AUTH: 'none', HOST: 'tasks.internal' });
    expect((await send(named.url, '/healthz', { headers: { host: 'tasks.internal:4000' } })).status).toBe(200);
    expect((await send(named.url, '/healthz', { headers: { host: 'Tasks.Internal' } })).status).toBe(200);
    expect((await send(named.url, '/healthz', { headers: { host: 'other.internal:4000' } })).status).toBe(403);

    const listed = await apps.start({ CORS_ORIGINS: 'https://tasks.example.com' });
    expect((await send(listed.url, '/healthz', { headers: { host: 'tasks.example.com' } })).status).toBe(200);
    expect((await send(listed.url, '/healthz', { headers: { host: 'other.example.com' } })).status).toBe(403);
    // Loopback-only open mode takes no IP address but loopback ones.
    expect((await send(listed.url, '/healthz', { headers: { host: '10.1.2.3' } })).status).toBe(403);
  });
});

describe('browser-facing headers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Task status</title><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(dir, 'assets/app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
    writeFileSync(join(dir, 'assets/app.js.map'), '{"version":3,"sources":["../src/secret-source.ts"],"mappings":""}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const expectFramingRefused = (answer: Answer) => {
    expect(answer.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  };

  it('the dashboard: a full Content-Security-Policy, no framing, nosniff, no referrer; its assets too', async () => {
    const t = await apps.start({}, { dashboardDir: dir });
    for (const path of ['/', '/tasks/some-id', '/assets/app.js']) {
      const answer = await send(t.url, path);
      expect(answer.status, path).toBe(200);
      expectFramingRefused(answer);
      const csp = answer.headers['content-security-policy']!;
      for (const directive of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "connect-src 'self'"]) expect(csp).toContain(directive);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    }
  });

  it('source maps are not served: /assets/*.js.map is 404, not the map and not the page', async () => {
    const t = await apps.start({}, { dashboardDir: dir });
    const map = await send(t.url, '/assets/app.js.map');
    expect(map.status).toBe(404);
    expect(map.text).not.toContain('secret-source');
    expect(map.text).not.toContain('<title>');
    expect((await send(t.url, '/assets/app.js')).status).toBe(200);
  });

  it('GraphiQL: no framing, nosniff, no referrer; API answers carry nosniff', async () => {
    const t = await apps.start();
    const graphiql = await send(t.url, '/graphql', { headers: { accept: 'text/html' } });
    expect([graphiql.status, graphiql.headers['content-type']]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expectFramingRefused(graphiql);
    for (const path of ['/healthz', '/api/queue/poll/x', '/metrics']) expect((await send(t.url, path)).headers['x-content-type-options'], path).toBe('nosniff');
    expect((await postJson(t, '{ __typename }')).headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('GraphiQL’s page', () => {
  it('is sent gzipped to clients that accept it, with an ETag that answers 304 to a client that has it', async () => {
    const t = await apps.start();
    const html = { accept: 'text/html' };
    const plain = await sendForBytes(t.url, '/graphql', html);
    expect([plain.status, plain.headers['content-encoding']]).toEqual([200, undefined]);
    expect(plain.body.toString('utf8')).toContain('<html');
    const gzipped = await sendForBytes(t.url, '/graphql', { ...html, 'accept-encoding': 'gzip, deflate, br' });
    expect([gzipped.status, gzipped.headers['content-encoding']]).toEqual([200, 'gzip']);
    expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
    // Kept by the browser and checked again on each visit, not sent again while unchanged.
    const etag = gzipped.headers.etag!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(gzipped.headers['cache-control']).toBe('no-cache');
    const again = await sendForBytes(t.url, '/graphql', { ...html, 'accept-encoding': 'gzip', 'if-none-match': etag });
    expect([again.status, again.body.length, again.headers.etag]).toEqual([304, 0, etag]);
    expect(again.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
  });
});

describe('production defaults (NODE_ENV=production)', () => {
  const INTROSPECT = '{ __schema { queryType { name } } }';

  it('GraphiQL and introspection are off; GRAPHIQL and INTROSPECTION turn them back on', async () => {
    const production = await apps.start({ NODE_ENV: 'production' });
    const page = await send(production.url, '/graphql', { headers: { accept: 'text/html' } });
    expect(page.headers['content-type'] ?? '').not.toMatch(/text\/html/);
    expect(page.text).not.toContain('<html');
    const introspection = await postJson(production, INTROSPECT);
    expect(new Set(codes(introspection.json()))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));

    const overridden = await apps.start({ NODE_ENV: 'production', GRAPHIQL: 'true', INTROSPECTION: 'true' });
    expect((await send(overridden.url, '/graphql', { headers: { accept: 'text/html' } })).headers['content-type']).toMatch(/^text\/html/);
    expect((await postJson(overridden, INTROSPECT)).json()).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });

    const development = await apps.start();
    expect((await send(development.url, '/graphql', { headers: { accept: 'text/html' } })).headers['content-type']).toMatch(/^text\/html/);
    expect((await postJson(development, INTROSPECT)).json().errors).toBeUndefined();
  });
});

describe('/metrics', () => {
  const TOKEN = 'metrics-token-0123456789';

  it('with METRICS_TOKEN: Authorization: Bearer <token> or 401 with WWW-Authenticate', async () => {
    const t = await apps.start({ METRICS_TOKEN: TOKEN });
    for (const headers of [{}, bearer('wrong-token-0123456789'), { authorization: TOKEN }, bearer(`${TOKEN}x`)]) {
      const refused = await send(t.url, '/metrics', { headers });
      expect([refused.status, refused.json().error.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect(refused.text).not.toContain('task_api_');
    }
    const scraped = await send(t.url, '/metrics', { headers: bearer(TOKEN) });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('task_api_waiters');
  });

  it('without a token: open on a loopback HOST (as before); refused (403) on any other HOST until METRICS_TOKEN is set', async () => {
    const loopback = await apps.start();
    expect((await send(loopback.url, '/metrics')).status).toBe(200);
    const network = await apps.start({ API_KEYS: 'metrics-net-key-0001:acme:admin', HOST: '0.0.0.0' });
    const refused = await send(network.url, '/metrics', { headers: bearer('metrics-net-key-0001') });
    expect([refused.status, refused.json().error.code]).toEqual([403, 'FORBIDDEN']);
    expect(refused.json().error.message).toMatch(/METRICS_TOKEN/);
    const tokened = await apps.start({ API_KEYS: 'metrics-net-key-0001:acme:admin', HOST: '0.0.0.0', METRICS_TOKEN: TOKEN });
    expect((await send(tokened.url, '/metrics', { headers: bearer(TOKEN) })).status).toBe(200);
  });

  it('METRICS_TOKEN must be at least 16 characters without spaces', () => {
    for (const value of ['short', 'has a space in it 0123']) expect(() => loadConfig({ METRICS_TOKEN: value })).toThrow(/\bMETRICS_TOKEN\b/);
    expect(loadConfig({ METRICS_TOKEN: TOKEN }).metricsToken).toBe(TOKEN);
    expect(loadConfig({}).metricsToken).toBeNull();
  });
});
