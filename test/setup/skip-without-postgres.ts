/**
 * Setup file of the `postgres` project (the contract suites again, on PostgreSQL): without a
 * server, each of its tests is reported as skipped with the reason, instead of failing or
 * vanishing from the summary.
 */
import { beforeEach } from 'vitest';
import { postgresMissing } from '../helpers/postgres.js';

beforeEach((context) => {
  if (postgresMissing) context.skip(postgresMissing);
});
