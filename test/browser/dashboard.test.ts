import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Locator, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DASHBOARD_DIR } from '../../src/http/dashboard.js';
import { freePort } from '../../tooling/ports.js';
import { useApps } from '../helpers/app.js';
import { metric } from '../helpers/graphql.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { collectPageErrors, cspViolations, ensureDashboardBuilt, gql, launchChromium, recordCspViolations, screenshot, stopServer } from './browser.js';

/*
 * The dashboard in a real Chromium against the real server (no demo worker): the test plays
 * the worker itself with GraphQL mutations from Node, so every step is deterministic, and
 * checks that each change reaches the page by itself, over WebSocket and, with WebSockets
 * blocked, over long-polling.
 */

const WAIT = { timeout: 15_000 };
const WORKER = 'browser-test-worker';

let server: ServerProcess;
let browser: Browser;
let context: BrowserContext | undefined;

beforeAll(async () => {
  // Only this file builds web/dist (the GraphiQL test does not need it), so no two test
  // files ever write it at once; the server must start after the build to serve it.
  await ensureDashboardBuilt();
  server = await startServerProcess({ DATABASE_URL: ':memory:' });
  browser = await launchChromium();
}, 120_000);

afterEach(async () => {
  await context?.close();
  context = undefined;
});

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** A fresh page at 1280×900, with every GraphQL POST body it sends recorded. */
async function openDashboard(setup?: (context: BrowserContext) => Promise<void>, url = server.url) {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  await setup?.(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = collectPageErrors(page);
  const posts: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/graphql')) posts.push(request.postData() ?? '');
  });
  await page.goto(`${url}/`);
  return { page, errors, posts };
}

/** Clicks "New demo task" and returns the id the service gave the task. */
async function createFromPage(page: Page): Promise<string> {
  const response = page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('CreateTask'));
  await page.getByTestId('create-task').click();
  const body = (await (await response).json()) as { data: { createTask: { id: string; kind: string } } };
  expect(body.data.createTask.kind).toBe('demo.report');
  return body.data.createTask.id;
}

/** Long-polls the server is holding right now (from /metrics). */
const waiters = () => metric(server.url, 'task_api_waiters');

function card(page: Page, id: string): Locator {
  return page.locator(`[data-testid="task-card"][data-task-id="${id}"]`);
}

async function cardState(page: Page, id: string) {
  const task = card(page, id);
  if ((await task.count()) === 0) return null;
  return {
    status: await task.getByTestId('task-status').getAttribute('data-status'),
    progress: await task.getByRole('progressbar').getAttribute('aria-valuenow'),
    message: await task.getByTestId('task-message').textContent(),
  };
}

/** Plays the worker from Node: claim, progress, complete; checks the page after each step. */
async function runTaskAndWatch(page: Page, id: string, onRunning?: () => Promise<void>) {
  const claimed = await gql(server, `mutation($w: String!) { claimTask(kinds: ["demo.report"], workerId: $w, leaseSeconds: 60) { id } }`, { w: WORKER });
  expect(claimed.claimTask.id).toBe(id);
  await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'RUNNING', progress: '0' });

  const progress = (value: number, message: string) =>
    gql(server, `mutation($id: ID!, $p: Int!, $m: String, $w: String) { reportProgress(id: $id, progress: $p, message: $m, workerId: $w) { revision } }`, {
      id,
      p: value,
      m: message,
      w: WORKER,
    });
  await progress(40, 'rendering page 2 of 5');
  await expect.poll(() => cardState(page, id), WAIT).toEqual({ status: 'RUNNING', progress: '40', message: 'rendering page 2 of 5' });
  await progress(80, 'rendering page 4 of 5');
  await expect.poll(() => cardState(page, id), WAIT).toEqual({ status: 'RUNNING', progress: '80', message: 'rendering page 4 of 5' });
  await onRunning?.();

  await gql(server, `mutation($id: ID!, $w: String) { completeTask(id: $id, result: { url: "/reports/browser.pdf", pages: 5 }, workerId: $w) { status } }`, {
    id,
    w: WORKER,
  });
  await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'COMPLETED', progress: '100' });
  const task = card(page, id);
  await expect.poll(() => task.getByTestId('task-result').textContent(), WAIT).toContain('/reports/browser.pdf');
  await expect.poll(() => task.getByTestId('task-follow').getAttribute('data-follow'), WAIT).toBe('final');
  // Timings: created, started and completed are all shown, and a duration.
  const timings = await task.getByTestId('task-timings').locator('time').count();
  expect(timings).toBe(3);
  expect(await task.getByTestId('task-duration').textContent()).toMatch(/^\d+(\.\d)? (ms|s)$/);
}

describe('dashboard', () => {
  it('creates a task with the button and shows it reach 100 % live over WebSocket', async () => {
    const { page, errors, posts } = await openDashboard();
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');
    await expect(page.title()).resolves.toContain('Task status');
    // What a new user sees first (this is the file's first test, on a fresh database).
    await expect.poll(() => page.getByTestId('task-list-empty').isVisible(), WAIT).toBe(true);
    await screenshot(page, 'dashboard-empty');

    const id = await createFromPage(page);
    await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'QUEUED', progress: '0' });
    // The new task is the first card (newest first).
    expect(await page.getByTestId('task-card').first().getAttribute('data-task-id')).toBe(id);
    await expect.poll(() => card(page, id).getByTestId('task-follow').getAttribute('data-follow'), WAIT).toBe('websocket');

    await runTaskAndWatch(page, id, () => screenshot(page, 'dashboard-running').then(() => {}));
    await screenshot(page, 'dashboard-websocket');

    // Every update came over the WebSocket: the page never long-polled.
    expect(posts.filter((body) => body.includes('awaitTask('))).toEqual([]);
    expect(await page.getByTestId('transport-badge').textContent()).toBe('live: WebSocket');
    expect(errors).toEqual([]);
  }, 60_000);

  it('falls back to long-polling the change feed when the WebSocket cannot connect, and says so', async () => {
    let upgrades = 0;
    const { page, errors, posts } = await openDashboard((context) =>
      // A proxy that drops WebSocket upgrades: every socket to /graphql is closed at once.
      context.routeWebSocket(/\/graphql$/, async (ws) => {
        upgrades++;
        await ws.close();
      }),
    );
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: long-polling');
    expect(upgrades).toBeGreaterThan(0);
    expect(await page.getByTestId('transport-badge').getAttribute('title')).toMatch(/closed before connecting|could not be opened|no WebSocket/);
    // Why, in the page itself, not only in a tooltip that keyboard and touch cannot reach.
    await expect.poll(() => page.getByTestId('fallback-notice').textContent(), WAIT).toMatch(/^Live updates come by long-polling \(.*(closed before connecting|could not be opened|no WebSocket).*\)\./);

    const id = await createFromPage(page);
    await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'QUEUED' });
    await expect.poll(() => card(page, id).getByTestId('task-follow').getAttribute('data-follow'), WAIT).toBe('long-polling');
    // The list's long-poll is held by the server before the worker does anything.
    await expect.poll(() => posts.filter((body) => body.includes('awaitTaskChanges(')).length, WAIT).toBeGreaterThan(0);

    await runTaskAndWatch(page, id);
    await screenshot(page, 'dashboard-long-polling');

    const longPolls = posts.filter((body) => body.includes('awaitTaskChanges('));
    expect(longPolls.every((body) => body.includes('"timeout":25'))).toBe(true);
    // Held requests, not a busy loop: about one per change (create, claim, 2 progress, complete).
    expect(longPolls.length).toBeLessThanOrEqual(8);
    // The card follows nothing of its own: the list's feed brought every change.
    expect(posts.filter((body) => body.includes('awaitTask('))).toEqual([]);
    expect(upgrades).toBe(1);
    expect(errors).toEqual([]);
  }, 60_000);

  it('when a working WebSocket drops, reconnects and resubscribes instead of falling back', async () => {
    const drops: Array<() => Promise<void>> = [];
    const { page, errors, posts } = await openDashboard((context) =>
      // A pass-through to the real server, which the test can cut (1001, going away) like a
      // restarting service would.
      context.routeWebSocket(/\/graphql$/, (ws) => {
        ws.connectToServer();
        drops.push(() => ws.close({ code: 1001, reason: 'going away' }));
      }),
    );
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');
    const id = await createFromPage(page);
    await expect.poll(() => card(page, id).getByTestId('task-follow').getAttribute('data-follow'), WAIT).toBe('websocket');

    expect(drops).toHaveLength(1);
    await drops[0]!();
    // graphql-ws waits a second or more before it retries: the badge says so meanwhile.
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: connecting…');
    expect(await page.getByTestId('transport-badge').getAttribute('title')).toContain('reconnecting');
    await expect.poll(() => drops.length, WAIT).toBe(2);
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');

    await runTaskAndWatch(page, id);
    expect(posts.filter((body) => body.includes('awaitTask('))).toEqual([]);
    await screenshot(page, 'dashboard-reconnected');
    expect(errors).toEqual([]);
  }, 60_000);

  it('falls back after ~3 s when the WebSocket opens but the handshake never completes', async () => {
    // A socket that opens and then says nothing: no connection_ack ever comes.
    const opened = Date.now();
    const { page, errors } = await openDashboard((context) => context.routeWebSocket(/\/graphql$/, () => {}));
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: long-polling');
    expect(Date.now() - opened).toBeGreaterThanOrEqual(3_000);
    expect(await page.getByTestId('transport-badge').getAttribute('title')).toContain('no WebSocket connection within 3 s');
    await screenshot(page, 'dashboard-handshake-timeout');
    expect(errors).toEqual([]);
  }, 60_000);

  it('with 8 running tasks and no WebSocket, one held change-feed request follows them all: each change shows within 2 s, and the page stays responsive', async () => {
    const kind = 'browser.many';
    const ids: string[] = [];
    for (let n = 0; n < 8; n++) {
      ids.push((await gql(server, `mutation($k: String!) { createTask(kind: $k) { id } }`, { k: kind })).createTask.id);
      await gql(server, `mutation($k: [String!]) { claimTask(kinds: $k, workerId: "many", leaseSeconds: 300) { id } }`, { k: [kind] });
    }

    const { page, errors, posts } = await openDashboard((context) => context.routeWebSocket(/\/graphql$/, (ws) => ws.close()));
    // The page's long-polls in flight, counted from its own request events: the most at once.
    let inFlight = 0;
    let mostInFlight = 0;
    const isLongPoll = (request: Request) => request.method() === 'POST' && (request.postData() ?? '').includes('awaitTask');
    page.on('request', (request) => {
      if (isLongPoll(request)) mostInFlight = Math.max(mostInFlight, ++inFlight);
    });
    const ended = (request: Request) => {
      if (isLongPoll(request)) inFlight--;
    };
    page.on('requestfinished', ended);
    page.on('requestfailed', ended);
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: long-polling');
    await page.getByTestId('filter-kind').fill(kind);
    await expect.poll(() => page.getByTestId('task-card').count(), WAIT).toBe(8);
    // The server holds the long-polls the page sent.
    await expect.poll(() => waiters(), WAIT).toBeGreaterThan(0);

    // A mutation goes through while they are held, not after some long-poll gives its
    // connection back.
    await createFromPage(page);

    // Each task in turn, oldest first (the ones a greedy pool of per-card long-polls once
    // starved), twice round: the time from the worker's acknowledged write to the card showing it.
    const delays: number[] = [];
    for (const round of [1, 2]) {
      for (const [n, id] of ids.entries()) {
        const progress = round * 40 + n;
        await gql(server, `mutation($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p, workerId: "many") { id } }`, { id, p: progress });
        const written = performance.now();
        await expect.poll(() => cardState(page, id), { timeout: 10_000, interval: 20 }).toMatchObject({ status: 'RUNNING', progress: String(progress) });
        delays.push(Math.round(performance.now() - written));
      }
    }
    expect(delays.filter((ms) => ms > 2_000), `delays (ms): ${delays.join(', ')}`).toEqual([]);
    // No card long-polled for itself: the list's change feed carried every change, one held
    // request at a time (two for a moment when the kind filter replaced the first), so the
    // browser's other connections stay free for the page's other requests.
    expect(posts.filter((body) => body.includes('awaitTask('))).toEqual([]);
    expect(posts.filter((body) => body.includes('awaitTaskChanges(')).length).toBeGreaterThan(0);
    expect(mostInFlight).toBeGreaterThan(0);
    expect(mostInFlight).toBeLessThanOrEqual(2);
    await screenshot(page, 'dashboard-many-long-polls');
    expect(errors).toEqual([]);
  }, 90_000);

  it('filters by status and kind, newest first, and loads more with the cursor', async () => {
    const kind = 'browser.list';
    const ids: string[] = [];
    for (let n = 1; n <= 15; n++) {
      const { createTask } = await gql(server, `mutation($k: String!, $n: Int) { createTask(kind: $k, input: { n: $n }) { id } }`, { k: kind, n });
      ids.push(createTask.id);
    }
    // One of them fails, so the status filter has something to find.
    await gql(server, `mutation($k: [String!]) { claimTask(kinds: $k, workerId: "w", leaseSeconds: 60) { id } }`, { k: [kind] });
    await gql(server, `mutation($id: ID!) { failTask(id: $id, message: "disk full", code: "ENOSPC", workerId: "w") { status } }`, { id: ids[0] });

    const { page, errors } = await openDashboard();
    await page.getByTestId('filter-kind').fill(kind);
    // The kind filter applies after a short debounce; the list says which filter it shows.
    await expect.poll(() => page.getByTestId('task-section').getAttribute('data-filter-kind'), WAIT).toBe(kind);
    const shown = () => page.getByTestId('task-card').evaluateAll((cards) => cards.map((element) => element.getAttribute('data-task-id')));
    const newestFirst = [...ids].reverse();
    await expect.poll(shown, WAIT).toEqual(newestFirst.slice(0, 12));
    await page.getByTestId('load-more').click();
    await expect.poll(shown, WAIT).toEqual(newestFirst);
    await expect.poll(() => page.getByTestId('list-end').textContent(), WAIT).toContain('15 tasks');

    await page.getByTestId('filter-status').selectOption('FAILED');
    await expect.poll(() => page.getByTestId('task-section').getAttribute('data-filter-status'), WAIT).toBe('FAILED');
    await expect.poll(shown, WAIT).toEqual([ids[0]]);
    const failed = card(page, ids[0]!);
    expect(await failed.getByTestId('task-error').textContent()).toContain('disk full');
    expect(await failed.getByTestId('task-error').textContent()).toContain('ENOSPC');
    await screenshot(page, 'dashboard-filtered');
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('dashboard: its build folder removed under the running server', () => {
  const apps = useApps();

  it('the page loads again and works, and the server keeps serving (a second npm start empties web/dist)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(DASHBOARD_DIR, dir, { recursive: true });
    const app = await apps.start({}, { dashboardDir: dir });
    const { page, errors } = await openDashboard(undefined, app.url);
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');

    rmSync(dir, { recursive: true, force: true });
    await page.reload();
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');
    const id = await createFromPage(page);
    await expect.poll(() => card(page, id).count(), WAIT).toBe(1);
    expect(errors).toEqual([]);
    // The page's subscriptions end before the app is checked to hold nothing.
    await context?.close();
    context = undefined;
  });
});

describe('dashboard: the live list', () => {
  const BLOCK_WEBSOCKET = (context: BrowserContext) => context.routeWebSocket(/\/graphql$/, (ws) => ws.close());
  const shown = (page: Page) => page.getByTestId('task-card').evaluateAll((cards) => cards.map((element) => element.getAttribute('data-task-id')));
  const create = async (target: ServerProcess, kind: string) => (await gql(target, `mutation($k: String!) { createTask(kind: $k) { id } }`, { k: kind })).createTask.id as string;
  /** Reads of a list page: nothing polls them. */
  const listReads = (posts: string[]) => posts.filter((body) => body.includes('"operationName":"Tasks"')).length;

  for (const [transport, setup] of [
    ['WebSocket', undefined],
    ['long-polling', BLOCK_WEBSOCKET],
  ] as const) {
    it(`a task created elsewhere joins the top of the list within a second, without a reload (${transport})`, async () => {
      const kind = `browser.live.${transport}`;
      const before = await create(server, kind);
      const { page, errors, posts } = await openDashboard(setup);
      await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe(`live: ${transport}`);
      await page.getByTestId('filter-kind').fill(kind);
      await expect.poll(() => page.getByTestId('task-section').getAttribute('data-filter-kind'), WAIT).toBe(kind);
      await expect.poll(() => shown(page), WAIT).toEqual([before]);
      if (transport === 'long-polling') await expect.poll(() => posts.filter((body) => body.includes('awaitTaskChanges')).length, WAIT).toBeGreaterThan(0);
      const reads = listReads(posts);

      const made = await create(server, kind);
      await expect.poll(() => shown(page), { timeout: 1_000 }).toEqual([made, before]);
      await create(server, 'browser.live.other');
      const another = await create(server, kind);
      await expect.poll(() => shown(page), { timeout: 1_000 }).toEqual([another, made, before]);
      expect(listReads(posts)).toBe(reads);
      expect(await page.getByTestId('list-end').textContent()).toContain('3 tasks');
      expect(errors).toEqual([]);
    }, 60_000);
  }

  it('a task that stops matching the status filter leaves the list; one that starts matching joins it', async () => {
    const kind = 'browser.live.status';
    const first = await create(server, kind);
    const second = await create(server, kind);
    const { page, errors, posts } = await openDashboard();
    await page.getByTestId('filter-kind').fill(kind);
    await expect.poll(() => page.getByTestId('task-section').getAttribute('data-filter-kind'), WAIT).toBe(kind);
    await page.getByTestId('filter-status').selectOption('QUEUED');
    await expect.poll(() => page.getByTestId('task-section').getAttribute('data-filter-status'), WAIT).toBe('QUEUED');
    await expect.poll(() => shown(page), WAIT).toEqual([second, first]);
    const reads = listReads(posts);

    await gql(server, `mutation($k: [String!]) { claimTask(kinds: $k, workerId: "w", leaseSeconds: 60) { id } }`, { k: [kind] });
    await expect.poll(() => shown(page), WAIT).toEqual([second]);
    await page.getByTestId('filter-status').selectOption('RUNNING');
    await expect.poll(() => shown(page), WAIT).toEqual([first]);
    // Only the new filter's page was read.
    expect(listReads(posts)).toBe(reads + 1);
    await gql(server, `mutation($k: [String!]) { claimTask(kinds: $k, workerId: "w", leaseSeconds: 60) { id } }`, { k: [kind] });
    await expect.poll(() => shown(page), WAIT).toEqual([second, first]);
    await gql(server, `mutation($id: ID!) { completeTask(id: $id, result: 1, workerId: "w") { id } }`, { id: second });
    await expect.poll(() => shown(page), WAIT).toEqual([first]);
    expect(listReads(posts)).toBe(reads + 1);
    expect(errors).toEqual([]);
  }, 60_000);

  for (const [transport, setup] of [
    ['WebSocket', undefined],
    ['long-polling', BLOCK_WEBSOCKET],
  ] as const) {
    it(`survives a server restart: what was made while it was down or after it is back joins the list (${transport})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
      const env = { DATABASE_URL: join(dir, 'tasks.db'), PORT: String(await freePort()) };
      let own = await startServerProcess(env);
      onTestFinished(async () => {
        await stopServer(own);
        rmSync(dir, { recursive: true, force: true });
      });
      const kind = 'browser.restart';
      const ids = [await create(own, kind)];
      const { page, errors, posts } = await openDashboard(setup, own.url);
      // Where each taskChanges subscription (sent over the WebSocket) starts.
      const subscribedAfter: string[] = [];
      page.on('websocket', (ws) =>
        ws.on('framesent', ({ payload }) => {
          const message = JSON.parse(String(payload)) as { type: string; payload?: { query?: string; variables?: { after?: string } } };
          if (message.type === 'subscribe' && message.payload?.query?.includes('taskChanges')) subscribedAfter.push(message.payload.variables!.after!);
        }),
      );
      await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe(`live: ${transport}`);
      await expect.poll(() => shown(page), WAIT).toEqual(ids);
      ids.unshift(await create(own, kind));
      await expect.poll(() => shown(page), WAIT).toEqual(ids);

      own.child.kill('SIGTERM');
      expect((await own.exited).code).toBe(0);
      own = await startServerProcess(env);
      // Made as soon as the server is back, before the page has reconnected, and after.
      ids.unshift(await create(own, kind));
      await expect.poll(() => shown(page), { timeout: 30_000 }).toEqual(ids);
      ids.unshift(await create(own, kind));
      await expect.poll(() => shown(page), WAIT).toEqual(ids);
      // It went on from the last change it had, not from where the list was read.
      const pollsAfter = posts.filter((body) => body.includes('"operationName":"AwaitTaskChanges"')).map((body) => (JSON.parse(body) as { variables: { after: string } }).variables.after);
      const afters = [...subscribedAfter, ...pollsAfter];
      expect(afters.length).toBeGreaterThan(1);
      expect(afters.filter((after) => after === afters[0])).toHaveLength(1);
      expect(errors).toEqual([]);
    }, 90_000);
  }
});

describe('dashboard: task output', () => {
  /** Claims the task and appends these lines as its worker. */
  const append = async (id: string, lines: string[]) => {
    for (const data of lines) {
      await gql(server, `mutation($id: ID!, $d: String!, $w: String) { appendTaskOutput(id: $id, data: $d, workerId: $w) }`, { id, d: data, w: WORKER });
    }
  };
  /** A running task of a kind of its own (so no other test's task is claimed instead). */
  const runningTask = async (kind: string) => {
    const created = await gql(server, `mutation($k: String!) { createTask(kind: $k) { id } }`, { k: kind });
    const claimed = await gql(server, `mutation($k: String!, $w: String!) { claimTask(kinds: [$k], workerId: $w, leaseSeconds: 60) { id } }`, { k: kind, w: WORKER });
    expect(claimed.claimTask.id).toBe(created.createTask.id);
    return created.createTask.id as string;
  };
  const seqs = (page: Page, id: string) => card(page, id).getByTestId('task-output-log').locator('[data-seq]').evaluateAll((spans) => spans.map((span) => Number(span.getAttribute('data-seq'))));

  for (const transport of ['WebSocket', 'long-polling'] as const) {
    it(`the card's log shows output lines as they are appended (${transport}), once each across closing and reopening it`, async () => {
      const id = await runningTask(`output.${transport}`);
      await append(id, ['reading rows\n']);
      const { page, errors } = await openDashboard(
        transport === 'long-polling' ? (context) => context.routeWebSocket(/\/graphql$/, (ws) => ws.close()) : undefined,
      );
      await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe(`live: ${transport}`);
      await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'RUNNING' });
      const output = card(page, id).getByTestId('task-output');
      await output.locator('summary').click();
      const log = card(page, id).getByTestId('task-output-log');
      await expect.poll(() => log.textContent(), WAIT).toBe('reading rows\n');
      await append(id, ['rendering ', 'page 1\n']);
      await expect.poll(() => log.textContent(), WAIT).toBe('reading rows\nrendering page 1\n');
      // Closed, more output comes; reopened, the log resumes after the last line it had.
      await output.locator('summary').click();
      await append(id, ['page 2\n']);
      await output.locator('summary').click();
      await expect.poll(() => log.textContent(), WAIT).toBe('reading rows\nrendering page 1\npage 2\n');
      await gql(server, `mutation($id: ID!, $w: String) { completeTask(id: $id, workerId: $w) { status } }`, { id, w: WORKER });
      await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'COMPLETED' });
      expect(await seqs(page, id)).toEqual([1, 2, 3, 4]);
      if (transport === 'WebSocket') await screenshot(page, 'dashboard-output');
      expect(errors).toEqual([]);
    }, 60_000);
  }
});

describe('dashboard: tags', () => {
  it('shows each task’s tags and filters the list by one (exactly)', async () => {
    const create = async (tags: string[]) => (await gql(server, `mutation($t: [String!]) { createTask(kind: "browser.tags", tags: $t) { id } }`, { t: tags })).createTask.id as string;
    const ops = await create(['team:ops', 'eu-west']);
    const web = await create(['team:web']);
    const { page, errors } = await openDashboard();
    await expect.poll(() => card(page, ops).count(), WAIT).toBe(1);
    expect(await card(page, ops).getByTestId('task-tags').locator('li').allTextContents()).toEqual(['team:ops', 'eu-west']);
    expect(await card(page, web).getByTestId('task-tags').locator('li').allTextContents()).toEqual(['team:web']);

    await page.getByTestId('filter-tag').fill('team:ops');
    await expect.poll(() => page.getByTestId('task-section').getAttribute('data-filter-tag'), WAIT).toBe('team:ops');
    const shown = () => page.getByTestId('task-card').evaluateAll((cards) => cards.map((element) => element.getAttribute('data-task-id')));
    await expect.poll(shown, WAIT).toEqual([ops]);
    await page.getByTestId('filter-tag').fill('team');
    await expect.poll(() => page.getByTestId('task-list-empty').textContent(), WAIT).toContain('Kinds and tags match exactly');
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('dashboard: what a first-time user meets', () => {
  const LONG_KIND = 'reports.monthly-summary.regional-breakdown.europe-west';

  /** One task in each state a card can show, each of its own kind so that claims pick it. */
  async function tasksInEveryState(): Promise<Record<'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'retrying', string>> {
    const create = async (kind: string) =>
      (await gql(server, `mutation($k: String!, $t: [String!]) { createTask(kind: $k, maxAttempts: 3, tags: $t) { id } }`, { k: kind, t: kind === 'states.running' ? ['team:ops', 'monthly'] : [] })).createTask.id as string;
    const claim = (kind: string) => gql(server, `mutation($k: [String!]) { claimTask(kinds: $k, workerId: "states", leaseSeconds: 300) { id } }`, { k: [kind] });
    const progress = (id: string, p: number, m: string) =>
      gql(server, `mutation($id: ID!, $p: Int!, $m: String) { reportProgress(id: $id, progress: $p, message: $m, workerId: "states") { id } }`, { id, p, m });
    const ids = {} as Record<'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'retrying', string>;
    for (const state of ['retrying', 'cancelled', 'failed', 'completed', 'running'] as const) {
      const kind = `states.${state}`;
      ids[state] = await create(kind);
      if (state === 'cancelled') continue;
      await claim(kind);
      await progress(ids[state], 37, 'page 15 of 40');
    }
    await gql(server, `mutation($id: ID!) { failTask(id: $id, message: "worker restarted", code: "WORKER_LOST", retry: true, workerId: "states") { status } }`, { id: ids.retrying });
    await gql(server, `mutation($id: ID!) { cancelTask(id: $id, reason: "no longer needed") { status } }`, { id: ids.cancelled });
    await gql(server, `mutation($id: ID!) { failTask(id: $id, message: "disk full", code: "ENOSPC", workerId: "states") { status } }`, { id: ids.failed });
    await gql(server, `mutation($id: ID!) { completeTask(id: $id, result: { pages: 40 }, workerId: "states") { status } }`, { id: ids.completed });
    ids.queued = await create(LONG_KIND);
    return ids;
  }

  /** axe-core's serious and critical findings on the page as it is now. */
  async function seriousViolations(page: Page): Promise<string[]> {
    const { violations } = await new AxeBuilder({ page }).analyze();
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  }

  it('every state reads plainly and passes axe with no serious violation, at desktop and at phone width', async () => {
    const ids = await tasksInEveryState();
    const { page, errors } = await openDashboard();
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');
    for (const id of Object.values(ids)) await expect.poll(() => card(page, id).count(), WAIT).toBe(1);
    const text = (state: keyof typeof ids, testId: string) => card(page, ids[state]).getByTestId(testId).textContent();

    // A never-run task does not claim an "attempt 0"; a retried one says what happened.
    expect(await text('queued', 'task-attempts')).toBe('up to 3 attempts');
    expect(await text('retrying', 'task-message')).toBe('Retrying: waiting for a worker to start attempt 2 of 3. The last one reached 37 %: page 15 of 40');
    expect(await text('retrying', 'task-attempts')).toBe('1 of 3 attempts used');
    expect(await text('retrying', 'task-error')).toBe('Last attempt failedWORKER_LOSTworker restarted');
    expect(await card(page, ids.retrying).getByTestId('task-progress').getAttribute('aria-valuetext')).toBe('37 % in the last attempt, queued to retry');
    expect(await card(page, ids.running).getByTestId('task-progress').getAttribute('aria-valuetext')).toBe('37 %, running');
    // Final cards: no stale progress message, no status said twice.
    expect(await text('completed', 'task-message')).toBe('Done');
    expect(await text('cancelled', 'task-error')).toBe('Reasonno longer needed');
    expect(await text('cancelled', 'task-attempts')).toBe('never ran');
    expect(await text('failed', 'task-message')).toBe('Last message: page 15 of 40');
    // No internal terms, no transport repeated on every card; times with their date and zone.
    for (const id of Object.values(ids)) {
      const content = await card(page, id).textContent();
      expect(content).not.toMatch(/\brev\b|WebSocket|attempt 0/);
    }
    expect(await card(page, ids.running).getByTestId('task-follow').textContent()).toBe('live');
    expect(await card(page, ids.completed).locator('time').first().textContent()).toMatch(/^\d{1,2} \w{3}, \d{2}:\d{2}:\d{2} UTC$/);
    // What "New demo task" needs is said where the button is.
    const hint = page.getByTestId('create-hint');
    expect(await hint.textContent()).toContain('npm run demo');
    expect(await page.getByTestId('create-task').getAttribute('aria-describedby')).toBe(await hint.getAttribute('id'));

    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'dashboard-desktop');

    await page.setViewportSize({ width: 390, height: 844 });
    // Nothing wider than the phone, and each time's label and value inside its own box (the text,
    // which spills out of a column too narrow for it), and no two of them overlapping.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const id of Object.values(ids)) {
      const items = await card(page, id)
        .getByTestId('task-timings')
        .locator('dt, dd')
        .evaluateAll((elements) =>
          elements.map((element) => {
            const text = document.createRange();
            text.selectNodeContents(element);
            return { name: element.textContent, box: element.getBoundingClientRect().toJSON() as DOMRect, text: text.getBoundingClientRect().toJSON() as DOMRect };
          }),
        );
      for (const [i, a] of items.entries()) {
        expect(a.text.left >= a.box.left - 0.5 && a.text.right <= a.box.right + 0.5, `"${a.name}" of ${id} spills out of its box`).toBe(true);
        for (const b of items.slice(i + 1)) {
          const overlap = a.box.left < b.box.right && b.box.left < a.box.right && a.box.top < b.box.bottom && b.box.top < a.box.bottom;
          expect(overlap, `timings of ${id} overlap`).toBe(false);
        }
      }
    }
    // The long kind wraps between its parts, never inside one.
    const kindTitle = card(page, ids.queued).locator('h2');
    const lines = await kindTitle.evaluate((heading) =>
      [...heading.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => {
        const range = document.createRange();
        range.selectNodeContents(node);
        return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
      }),
    );
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((count) => count === 1)).toBe(true);
    expect((await kindTitle.boundingBox())!.height).toBeGreaterThan(30);

    expect(await seriousViolations(page)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'dashboard-phone', { fullPage: false });
    expect(errors).toEqual([]);
  }, 120_000);

  it('Cancel asks first: Escape backs out (focus back on Cancel), "Yes, cancel" cancels; axe passes with the question open', async () => {
    const { createTask } = await gql(server, `mutation { createTask(kind: "browser.cancel") { id } }`);
    const { page, errors } = await openDashboard();
    const task = card(page, createTask.id);
    const cancel = task.getByRole('button', { name: /^Cancel browser\.cancel/ });
    await cancel.click();
    const confirm = task.getByTestId('confirm-cancel');
    await expect.poll(() => confirm.evaluate((button) => button === document.activeElement), WAIT).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => confirm.count(), WAIT).toBe(0);
    expect(await cancel.evaluate((button) => button === document.activeElement)).toBe(true);
    // Backing out changed nothing on the server.
    const { task: stillQueued } = await gql(server, `query($id: ID!) { task(id: $id) { status } }`, { id: createTask.id });
    expect(stillQueued.status).toBe('QUEUED');

    await cancel.click();
    await confirm.click();
    await expect.poll(() => cardState(page, createTask.id), WAIT).toMatchObject({ status: 'CANCELLED' });
    expect(await task.getByTestId('task-error').textContent()).toBe('Reasoncancelled from the dashboard');
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('dashboard: browser defences', () => {
  it('sends its security headers and runs under its Content-Security-Policy (WebSocket included) without a violation; no page can frame it', async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await recordCspViolations(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectPageErrors(page);
    const response = (await page.goto(`${server.url}/`))!;
    const headers = response.headers();
    expect(headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    // The policy lets the dashboard do all it does: load, open its WebSocket, create a task.
    await expect.poll(() => page.getByTestId('transport-badge').textContent(), WAIT).toBe('live: WebSocket');
    const id = await createFromPage(page);
    await expect.poll(() => cardState(page, id), WAIT).toMatchObject({ status: 'QUEUED' });
    expect(await cspViolations(page)).toEqual([]);
    expect(errors).toEqual([]);

    // Framed by another page, the dashboard never loads: Chromium refuses to render it.
    const framing = await context.newPage();
    const blocked = framing.waitForEvent('console', (message) => /frame-ancestors|Refused to (display|frame)/.test(message.text()));
    await framing.setContent(`<iframe src="${server.url}/" width="800" height="600"></iframe>`);
    await blocked;
    const frame = framing.frames().find((candidate) => candidate !== framing.mainFrame())!;
    expect(await frame.locator('[data-testid="transport-badge"]').count()).toBe(0);
  }, 60_000);

  it('a key in a link is used only when the user accepts it, and is taken out of the address bar either way', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const dialogs: string[] = [];
    let answer: 'accept' | 'dismiss' = 'dismiss';
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog[answer]();
    });
    const kept = () => page.evaluate(() => window.localStorage.getItem('apiKey'));

    await page.goto(`${server.url}/?key=someone-elses-key-0001&x=1`);
    await expect.poll(() => page.url(), WAIT).toBe(`${server.url}/?x=1`);
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toMatch(/API key/);
    expect(await kept()).toBeNull();

    answer = 'accept';
    await page.goto(`${server.url}/?key=my-own-key-000001`);
    await expect.poll(() => page.url(), WAIT).toBe(`${server.url}/`);
    expect(dialogs).toHaveLength(2);
    expect(await kept()).toBe('my-own-key-000001');

    // The same key again: nothing to ask. Another one: asked, and declined, the kept one stays.
    await page.goto(`${server.url}/?key=my-own-key-000001`);
    await expect.poll(() => page.url(), WAIT).toBe(`${server.url}/`);
    expect(dialogs).toHaveLength(2);
    answer = 'dismiss';
    await page.goto(`${server.url}/?key=someone-elses-key-0001`);
    await expect.poll(() => page.url(), WAIT).toBe(`${server.url}/`);
    expect(dialogs).toHaveLength(3);
    expect(dialogs[2]).toMatch(/different API key/);
    expect(await kept()).toBe('my-own-key-000001');
  }, 60_000);

  it('a page of another origin cannot create a task: its preflighted JSON POST fails, its simple POST is refused', async () => {
    const kind = 'browser.cross-origin';
    // The attacker's page: another origin (another port), on loopback too, so that Chromium's
    // private-network rules stay out of it, and without a Content-Security-Policy of its own.
    const attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => attacker.close(() => resolve())));
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    const outcome = await page.evaluate(
      async ({ target, kind }) => {
        const body = JSON.stringify({ query: `mutation { createTask(kind: "${kind}") { id } }` });
        let preflighted: string;
        try {
          const response = await fetch(`${target}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          preflighted = `answered ${response.status}`;
        } catch (error) {
          preflighted = `failed: ${String(error)}`;
        }
        // No preflight for this one: the browser sends it and hides the answer.
        const simple = await fetch(`${target}/graphql`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body });
        return { preflighted, simple: simple.type };
      },
      { target: server.url, kind },
    );
    expect(outcome).toEqual({ preflighted: expect.stringMatching(/^failed: TypeError/), simple: 'opaque' });
    const { tasks } = await gql(server, `query($k: String) { tasks(kind: $k) { edges { node { id } } } }`, { k: kind });
    expect(tasks.edges).toEqual([]);
    // A WebSocket from that page is refused at the upgrade.
    const opened = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(url, 'graphql-transport-ws');
          socket.onopen = () => resolve('open');
          socket.onerror = () => resolve('error');
        }),
      server.wsUrl,
    );
    expect(opened).toBe('error');
  }, 60_000);
});
