import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** The suites that exercise the contract over real sockets through `startApp`. */
const POSTGRES_CONTRACT_SUITES = [
  'test/graphql/api.test.ts',
  'test/graphql/feeds.test.ts',
  'test/http/rest.test.ts',
  'test/http/output.test.ts',
  'test/http/sse.test.ts',
  'test/http/ws.test.ts',
  'test/http/observability.test.ts',
  'test/http/sse-resume.test.ts',
  'test/http/leaving-clients.test.ts',
  'test/http/long-poll-cap.test.ts',
  'test/security/auth.test.ts',
  'test/security/auth-first.test.ts',
  'test/security/cursors.test.ts',
  'test/security/limits.test.ts',
  'test/security/worker-limits-http.test.ts',
  'test/security/roles-tenants.test.ts',
  'test/security/hostile.test.ts',
  'test/security/quotas.test.ts',
  'test/security/stream-caps.test.ts',
  'test/client/apollo.test.ts',
  'test/race.test.ts',
];

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds. Node loads the CommonJS one for
    // the dependencies; Vite would give our sources the ESM one, and two graphql modules
    // cannot share a schema. Point ours at the build Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    // A throwaway PostgreSQL server for the suites that need one (or TEST_POSTGRES_URL).
    globalSetup: ['test/setup/build.ts', 'test/setup/postgres.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      {
        // The contract suites again, each app on a fresh PostgreSQL database of the test server.
        extends: true,
        test: {
          name: 'postgres',
          include: POSTGRES_CONTRACT_SUITES,
          env: { TEST_ENGINE: 'postgres' },
          setupFiles: ['test/setup/skip-without-postgres.ts'],
        },
      },
    ],
  },
});
