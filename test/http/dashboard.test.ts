import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useApps } from '../helpers/app.js';

/*
 * The dashboard's files over a real socket, from a build in a temporary folder: what is
 * served, cached and compressed, and that the folder vanishing under a running server
 * (a second `npm start` from the same checkout rebuilds it) fails no request and ends no process.
 */

const apps = useApps();
const PAGE = '<!doctype html><title>Task status</title><script type="module" src="/assets/app-1a2b.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4_000))});\n`;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), PAGE);
  writeFileSync(join(dir, 'assets/app-1a2b.js'), SCRIPT);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await fetch(url, { method, headers: { 'accept-encoding': 'identity', ...headers } });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

describe('the dashboard files', () => {
  it('serves the page at / and at any app path, and the assets, each with its type and caching', async () => {
    const t = await apps.start({}, { dashboardDir: dir });
    for (const path of ['/', '/tasks/some-id']) {
      const page = await get(`${t.url}${path}`);
      expect([page.status, page.headers.get('content-type'), page.headers.get('cache-control'), page.bytes.toString()], path).toEqual([
        200,
        'text/html; charset=utf-8',
        'no-cache',
        PAGE,
      ]);
    }
    const script = await get(`${t.url}/assets/app-1a2b.js`);
    expect([script.status, script.headers.get('content-type'), script.headers.get('cache-control')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
    ]);
    expect(script.bytes.toString()).toBe(SCRIPT);
  });

  it('answers a known ETag with 304, sends gzip to a client that takes it, and HEAD without a body', async () => {
    const t = await apps.start({}, { dashboardDir: dir });
    const first = await get(`${t.url}/assets/app-1a2b.js`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect((await get(`${t.url}/assets/app-1a2b.js`, { 'if-none-match': etag })).status).toBe(304);

    // A proxy that gzips weakens the tag: still a match. So is `*`.
    expect((await get(`${t.url}/assets/app-1a2b.js`, { 'if-none-match': `W/${etag}` })).status).toBe(304);
    expect((await get(`${t.url}/assets/app-1a2b.js`, { 'if-none-match': '"other", *' })).status).toBe(304);

    const gzipped = await get(`${t.url}/assets/app-1a2b.js`, { 'accept-encoding': 'gzip' });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    // Another representation, another tag; the identity tag does not stand for it.
    expect(gzipped.headers.get('etag')).not.toBe(etag);
    expect((await get(`${t.url}/assets/app-1a2b.js`, { 'accept-encoding': 'gzip', 'if-none-match': etag })).status).toBe(200);
    expect((await get(`${t.url}/assets/app-1a2b.js`, { 'accept-encoding': 'gzip', 'if-none-match': gzipped.headers.get('etag')! })).status).toBe(304);
    // fetch inflates the body; the length on the wire is the gzipped one.
    expect(Number(gzipped.headers.get('content-length'))).toBeLessThan(SCRIPT.length / 4);
    expect(gzipped.bytes.toString()).toBe(SCRIPT);

    const head = await get(`${t.url}/`, {}, 'HEAD');
    expect([head.status, head.headers.get('content-length'), head.bytes.length]).toEqual([200, String(Buffer.byteLength(PAGE)), 0]);
  });

  it('a missing asset, a source map or an undecodable path is a plain 404, never the page', async () => {
    writeFileSync(join(dir, 'assets/app-1a2b.js.map'), '{"version":3,"sources":["../src/secret.ts"]}');
    const t = await apps.start({}, { dashboardDir: dir });
    for (const path of ['/assets/gone-9f8e.js', '/assets/app-1a2b.js.map', '/assets/app-1a2b.js%2Emap', '/%E0%A4%A']) {
      const answer = await get(`${t.url}${path}`);
      expect([answer.status, answer.bytes.toString()], path).toEqual([404, 'Not found.\n']);
    }
  });

  it('keeps serving, and the process keeps running, when the build folder is deleted under it', async () => {
    const t = await apps.start({}, { dashboardDir: dir });
    rmSync(dir, { recursive: true, force: true });
    // Before the files were served from memory, this first request ended the process: an
    // unhandled `error` (ENOENT) on the file's read stream.
    for (const [path, body] of [
      ['/', PAGE],
      ['/assets/app-1a2b.js', SCRIPT],
      ['/tasks/x', PAGE],
    ] as const) {
      const answer = await get(`${t.url}${path}`);
      expect([answer.status, answer.bytes.toString()], path).toEqual([200, body]);
    }
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('takes the folder with or without a trailing separator', async () => {
    const t = await apps.start({}, { dashboardDir: `${dir}/` });
    expect((await get(`${t.url}/assets/app-1a2b.js`)).bytes.toString()).toBe(SCRIPT);
    expect((await get(`${t.url}/`)).bytes.toString()).toBe(PAGE);
  });

  it('without a build, says how to make one', async () => {
    rmSync(dir, { recursive: true, force: true });
    const t = await apps.start({}, { dashboardDir: dir });
    const answer = await get(`${t.url}/`);
    expect(answer.status).toBe(404);
    expect(answer.bytes.toString()).toContain('npm run build:web');
  });
});
