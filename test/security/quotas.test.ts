/**
 * Per-tenant quotas over real sockets: `maxAttempts` bounded.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS } from '../../src/tasks/task.js';
import { useApps } from '../helpers/app.js';
import { code } from '../helpers/graphql.js';

const apps = useApps();

const CREATE = 'mutation($kind: String!, $max: Int) { createTask(kind: $kind, maxAttempts: $max) { id maxAttempts } }';

describe('maxAttempts', () => {
  it(`is at most ${MAX_ATTEMPTS}: one more is BAD_USER_INPUT naming the bound, and nothing is created`, async () => {
    const t = await apps.start();
    expect(MAX_ATTEMPTS).toBe(100);
    const ok = await t.gql(CREATE, { kind: 'bounded', max: MAX_ATTEMPTS });
    expect(ok.data.createTask.maxAttempts).toBe(MAX_ATTEMPTS);
    for (const max of [MAX_ATTEMPTS + 1, 2_147_483_647]) {
      const refused = await t.gql(CREATE, { kind: 'unbounded', max });
      expect(code(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.message).toContain(String(MAX_ATTEMPTS));
    }
    const listed = await t.gql('{ tasks { edges { node { kind } } } }');
    expect(listed.data.tasks.edges.map((edge: { node: { kind: string } }) => edge.node.kind)).toEqual(['bounded']);
  });
});
