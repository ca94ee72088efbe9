import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { useApps } from '../helpers/app.js';
import { bearer, codes } from '../helpers/graphql.js';
import { API_KEYS, KEYS } from '../helpers/keys.js';

/*
 * `tasks` cursors are sealed: the shared sequence they hold is encrypted and
 * bound to the tenant, over a real socket; the key is the configuration's, so instances with
 * the same keys (or CURSOR_SECRET) accept each other's cursors, across restarts.
 */

const apps = useApps();
const LIST = 'query($after: String) { tasks(first: 2, after: $after) { edges { cursor node { id } } pageInfo { endCursor } } }';

describe('sealed tasks cursors', () => {
  it('one tenant’s cursor is BAD_USER_INPUT for another; another instance with the same keys takes it, one with other keys does not', async () => {
    const env = { API_KEYS };
    const first = await apps.start(env);
    for (let n = 0; n < 3; n++) await first.gql('mutation { createTask(kind: "c") { id } }', {}, bearer(KEYS.aliceClient));
    const page = await first.gql(LIST, {}, bearer(KEYS.aliceClient));
    const cursor = page.data!.tasks.pageInfo.endCursor as string;
    expect(cursor).not.toMatch(/^[A-Za-z0-9_-]{0,12}$/);

    expect((await first.gql(LIST, { after: cursor }, bearer(KEYS.aliceClient))).data!.tasks.edges).toHaveLength(1);
    expect(codes(await first.gql(LIST, { after: cursor }, bearer(KEYS.bobClient)))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await first.gql(LIST, { after: cursor }, bearer(KEYS.admin)))).toEqual(['BAD_USER_INPUT']);

    // A second instance (or the same after a restart) with the same keys: the cursor is good there.
    const second = await apps.start(env);
    expect((await second.gql(LIST, { after: cursor }, bearer(KEYS.aliceClient))).data!.tasks.edges).toEqual([]);
    // Other keys, or another CURSOR_SECRET: not a cursor of this listing.
    const other = await apps.start({ API_KEYS: `${KEYS.aliceClient}:alice:client` });
    expect(codes(await other.gql(LIST, { after: cursor }, bearer(KEYS.aliceClient)))).toEqual(['BAD_USER_INPUT']);
  });

  it('the key: from CURSOR_SECRET when set, else from the API keys (in any order); 32 bytes', () => {
    const derived = loadConfig({ API_KEYS: API_KEYS }).cursorKey;
    expect(derived).toHaveLength(32);
    expect(loadConfig({ API_KEYS: [...API_KEYS.split(',')].reverse().join(',') }).cursorKey).toEqual(derived);
    expect(loadConfig({ API_KEYS: API_KEYS.split(',').slice(1).join(',') }).cursorKey).not.toEqual(derived);
    const secret = loadConfig({ API_KEYS, CURSOR_SECRET: 'a-shared-secret-of-some-length' }).cursorKey;
    expect(secret).not.toEqual(derived);
    expect(loadConfig({ CURSOR_SECRET: 'a-shared-secret-of-some-length' }).cursorKey).toEqual(secret);
    expect(() => loadConfig({ CURSOR_SECRET: 'short' })).toThrow(/CURSOR_SECRET must be at least 16 characters/);
  });
});
