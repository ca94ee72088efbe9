/**
 * Mutation testing of the domain (src/tasks; the storage adapters are in src/storage): `npm run test:mutation`.
 * Each mutant runs the in-process SQLite suites of vitest.mutation.config.ts that cover it.
 * Reports go to reports/mutation/ (HTML and JSON); reruns reuse unchanged results
 * (reports/stryker-incremental.json). Not part of CI: a full run takes tens of minutes.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  // The domain: every module of src/tasks but the store's types; of the storage adapters, SQLite's group commit.
  mutate: ['src/tasks/**/*.ts', '!src/tasks/store.ts', 'src/storage/sqlite/group-commit.ts'],
  coverageAnalysis: 'perTest',
  // Two cores: one test runner each.
  concurrency: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true },
  // What the sandbox copy leaves out: data, build outputs and folders no domain test reads.
  ignorePatterns: ['/data', '/bench', '/docs', '/web', '/examples', '/scratch', '/coverage', '/reports', '*.db', '*.db-*'],
  tempDirName: '.stryker-tmp',
  thresholds: { high: 90, low: 85, break: null },
};
