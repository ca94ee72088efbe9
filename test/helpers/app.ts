import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, expect } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { gqlRequest, type GqlOptions, type GqlResult } from './graphql.js';
import { freshDatabase } from './postgres.js';

export type { GqlResult } from './graphql.js';

export interface TestApp {
  app: App;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT/graphql */
  wsUrl: string;
  /**
   * A GraphQL request over a real socket to this app's port, on whatever route production
   * takes for it (a JSON POST unless `options.method` says GET).
   */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>, options?: Omit<GqlOptions, 'headers'>): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

/**
 * A real app on a real `:memory:` SQLite database (real migrations), or a fresh PostgreSQL one
 * in the `postgres` test project, listening on port 0.
 * `close()` first checks that nothing was left held: no waiter, stream or listener.
 */
export async function startApp(env: Record<string, string> = {}, { log = pino({ level: 'silent' }), ...options }: AppOptions = {}): Promise<TestApp> {
  // The `postgres` test project runs the same suites with each app on a fresh PostgreSQL database.
  const database = process.env.TEST_ENGINE === 'postgres' && !env.DATABASE_URL ? await freshDatabase() : null;
  const config = loadConfig({ DATABASE_URL: database?.url ?? ':memory:', ...env });
  const app = await createApp(config, { log, ...options });
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    gql: (query, variables, headers = {}, options = {}) => gqlRequest(url, query, variables, { ...options, headers }),
    async close() {
      await app.close(100);
      await database?.drop();
    },
  };
}

/**
 * A fresh app for every test of the file: started before each test; after it, checked to
 * hold nothing (waiter, stream, listener) and closed. `options` is called before each start,
 * e.g. to give each test its own captured log.
 */
export function useApp(env: Record<string, string> = {}, options: () => AppOptions = () => ({})): TestApp {
  let current: TestApp | undefined;
  beforeEach(async () => {
    current = await startApp(env, options());
  });
  afterEach(async () => {
    await expectNothingHeld(current!.app);
    await current!.close();
    current = undefined;
  });
  const get = (): TestApp => {
    if (!current) throw new Error('useApp: no app outside a test');
    return current;
  };
  return {
    get app() {
      return get().app;
    },
    get url() {
      return get().url;
    },
    get wsUrl() {
      return get().wsUrl;
    },
    gql: (...args) => get().gql(...args),
    close: () => get().close(),
  };
}

/**
 * For files whose tests each start their own apps, with their own settings: `start` them in
 * the test; after it, each is checked to hold nothing (waiter, stream, listener) and closed.
 */
export function useApps(): { start: typeof startApp } {
  const started: TestApp[] = [];
  afterEach(async () => {
    const apps = started.splice(0);
    try {
      for (const app of apps) await expectNothingHeld(app.app);
    } finally {
      for (const app of apps) await app.close();
    }
  });
  return {
    async start(env, options) {
      const app = await startApp(env, options);
      started.push(app);
      return app;
    },
  };
}

/** Waits until nothing is held: no waiter, no open stream, no pub/sub listener. */
export async function expectNothingHeld(app: App): Promise<void> {
  await expect.poll(() => ({ ...app.tasks.stats(), listeners: app.events.listenerCount() }), { timeout: 2_000 }).toEqual({
    waiters: 0,
    subscriptions: 0,
    listeners: 0,
  });
}

export const TASK_FIELDS = /* GraphQL */ `
  id kind status done progress message input result error { message code details }
  attempts maxAttempts revision createdAt updatedAt startedAt completedAt
`;
