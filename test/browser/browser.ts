import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { gqlRequest } from '../helpers/graphql.js';
import { newestMtime } from '../helpers/mtime.js';
import type { ServerProcess } from '../helpers/process.js';

/**
 * Shared by the browser tests: Debian's Chromium driven by playwright-core (no browser is
 * ever downloaded), the dashboard build, GraphQL calls from Node, and screenshots.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOT_DIR = fileURLToPath(new URL('./screenshots/', import.meta.url));

/** Chromium with a fresh temporary profile (Playwright's default for launch()). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the browser tests drive Debian's Chromium and never download a browser. ` +
        'Install it first (CI must run `apt-get install -y chromium`).',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

/** Saves a screenshot (of the whole page unless `fullPage` is false) as test/browser/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  // animations: 'disabled' finishes the progress bars' CSS transitions, so they show the value.
  await page.screenshot({ path, fullPage, animations: 'disabled', timeout: 10_000 });
  return path;
}

declare global {
  /** In the page (not in Node): the Content-Security-Policy violations it reported, kept by recordCspViolations. */
  var cspViolations: string[] | undefined;
}

/** Records every Content-Security-Policy violation the context's pages report, from before their first script. */
export async function recordCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const seen: string[] = [];
    globalThis.cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
}

/** The violations the page reported so far (none recorded: recordCspViolations was not called). */
export const cspViolations = (page: Page): Promise<string[] | undefined> => page.evaluate(() => globalThis.cspViolations);

/** Uncaught errors in the page, to assert there were none. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  return errors;
}

/** A GraphQL operation from Node, as a worker or another client would send it. */
export async function gql<T = any>(server: ServerProcess, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const body = await gqlRequest<T>(server.url, query, variables, { signal: AbortSignal.timeout(10_000) });
  if (body.errors?.length) throw new Error(`GraphQL errors: ${body.errors.map((error) => error.message).join('; ')}`);
  return body.data as T;
}

/** Stops a server started with startServerProcess; SIGKILL if it does not exit within 10 s. */
export async function stopServer(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await server.exited;
  clearTimeout(timer);
}

const DASHBOARD_SOURCES = ['web/src', 'web/index.html', 'web/vite.config.ts', 'package-lock.json'];

/**
 * Builds the dashboard into web/dist (as `npm run build:web` does) unless the build is newer
 * than every source. It runs Vite in its own process, with NODE_ENV=production, so that
 * nothing from vitest's environment leaks into the bundle. Only test/browser/dashboard.test.ts
 * calls this, so no two test files write web/dist at once.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const built = join(ROOT, 'web/dist/index.html');
  if (existsSync(built) && statSync(built).mtimeMs > newestMtime(DASHBOARD_SOURCES.map((path) => join(ROOT, path)))) return;
  const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
  const child = spawn(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  if (code !== 0 || !existsSync(built)) throw new Error(`building the dashboard failed (exit ${code}):\n${output}`);
}
