import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { collectPageErrors, cspViolations, gql, launchChromium, recordCspViolations, screenshot, stopServer } from './browser.js';

/*
 * GraphiQL as a person uses it: served by the service itself (no CDN: every request the page
 * makes stays on the service's origin), a query run with the run button, and a subscription
 * over graphql-ws that shows an event pushed by a mutation made from Node.
 * It needs no dashboard build (test/browser/dashboard.test.ts makes that).
 */

const WAIT = { timeout: 15_000 };

let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  server = await startServerProcess({ DATABASE_URL: ':memory:' });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** The response pane's text, whitespace collapsed (Monaco renders it line by line). */
async function responseText(page: Page): Promise<string> {
  const text = await page.locator('.graphiql-response').innerText({ timeout: 5_000 });
  return text.replace(/\s+/g, ' ');
}

/** Opens GraphiQL with `query` in the editor (GraphiQL reads ?query=); resolves with the run button. */
async function openGraphiQL(page: Page, query: string, shows: string) {
  await page.goto(`${server.url}/graphql?query=${encodeURIComponent(query)}`);
  await expect
    .poll(() => page.locator('.graphiql-query-editor').innerText().then((text) => text.replace(/\s+/g, ' ')), WAIT)
    .toContain(shows);
  return page.getByRole('button', { name: /Execute query/ });
}

describe('GraphiQL', () => {
  it('loads from the service alone, runs a query, and shows subscription events pushed by mutations', async () => {
    const { createTask } = await gql(server, `mutation { createTask(kind: "graphiql.check", input: { month: "2026-10" }) { id } }`);
    const id = createTask.id as string;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors = collectPageErrors(page);
      const requests: string[] = [];
      const sockets: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('websocket', (socket) => sockets.push(socket.url()));

      // A query, run with the run button.
      const run = await openGraphiQL(page, '{\n  tasks(first: 5) {\n    edges { node { id kind status } }\n  }\n}', 'tasks(first: 5)');
      await run.click();
      await expect.poll(() => responseText(page), WAIT).toContain(`"id": "${id}"`);
      expect(await responseText(page)).toContain('"kind": "graphiql.check"');
      await screenshot(page, 'graphiql-query');

      // A subscription over graphql-ws: the current state first, then what Node's mutations do.
      const subscription = `subscription {\n  taskUpdated(id: "${id}") {\n    status progress message revision done\n  }\n}`;
      await (await openGraphiQL(page, subscription, 'taskUpdated(id:')).click();
      await expect.poll(() => responseText(page), WAIT).toContain('"status": "QUEUED"');
      await expect.poll(() => sockets.length, WAIT).toBeGreaterThan(0);

      await gql(server, `mutation { claimTask(kinds: ["graphiql.check"], workerId: "node") { id } }`);
      await gql(server, `mutation($id: ID!) { reportProgress(id: $id, progress: 42, message: "pushed from Node", workerId: "node") { revision } }`, { id });
      await expect.poll(() => responseText(page), WAIT).toContain('"message": "pushed from Node"');
      const text = await responseText(page);
      expect(text).toContain('"status": "RUNNING"');
      expect(text).toContain('"progress": 42');
      expect(text).toContain('"revision": 3');
      await screenshot(page, 'graphiql-subscription');

      // Nothing was fetched from anywhere but the service (GraphiQL's workers are blob: URLs).
      const origin = new URL(server.url).origin;
      const foreign = requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin);
      expect(foreign).toEqual([]);
      expect(requests.length).toBeGreaterThan(0);
      expect(sockets.every((url) => url === `${origin.replace('http', 'ws')}/graphql`)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('is served with its security headers (never framed, no referrer, nosniff) and works under its Content-Security-Policy', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await recordCspViolations(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors = collectPageErrors(page);
      const response = page.waitForResponse((r) => r.url().startsWith(`${server.url}/graphql?`) && r.request().resourceType() === 'document');
      const run = await openGraphiQL(page, '{ __typename }', '__typename');
      const headers = (await response).headers();
      expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['referrer-policy']).toBe('no-referrer');
      await run.click();
      await expect.poll(() => responseText(page), WAIT).toContain('"__typename": "Query"');
      expect(await cspViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
