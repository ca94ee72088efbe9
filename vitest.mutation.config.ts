/**
 * The suites Stryker runs against each mutant of the domain (src/tasks): the ones that drive
 * the real service in process on SQLite `:memory:`, fast enough to run thousands of times.
 * No PostgreSQL is started: `postgresUrl` is provided as null, so the engine-parameterized
 * suites run their SQLite variants only. See stryker.config.mjs; `npm run test:mutation`.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** Suites that take seconds: run after the quick ones, so a mutant a quick one kills stops the run early (bail). */
const SLOW_SUITES = ['test/property.test.ts'];

class QuickSuitesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const slow = (file: TestSpecification) => SLOW_SUITES.some((suite) => file.moduleId.endsWith(suite));
    return [...files].sort((a, b) => Number(slow(a)) - Number(slow(b)) || a.moduleId.localeCompare(b.moduleId));
  }
}

export default defineConfig({
  // The same graphql alias as the main config: one graphql module for our sources and the libraries.
  resolve: base.resolve,
  test: {
    include: ['test/tasks/*.test.ts', 'test/storage/group-commit*.test.ts', 'test/property.test.ts', 'test/http/shared-subscribe.test.ts'],
    provide: { postgresUrl: null },
    sequence: { sequencer: QuickSuitesFirst },
    // The property test alone takes seconds, more with Stryker's coverage counters on a busy machine.
    testTimeout: 60_000,
    hookTimeout: 20_000,
  },
});
