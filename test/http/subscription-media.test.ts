import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { codes } from '../helpers/graphql.js';
import { runningTask } from '../helpers/tasks.js';

const t = useApp();

const subscribe = (id: string, accept: string) =>
  fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query: `subscription($id: ID!) { taskUpdated(id: $id) { revision } }`, variables: { id } }),
  });

describe('a subscription sent in a media type that cannot stream it', () => {
  it('is refused with a coded 406, and leaves no stream or listener behind', async () => {
    const id = await runningTask(t.url);
    for (const accept of ['application/graphql-response+json', 'application/json']) {
      const response = await subscribe(id, accept);
      expect([response.status, codes(await response.json())]).toEqual([406, ['NOT_ACCEPTABLE']]);
      // Checked at once: the stream must be gone now, not when the task ends.
      expect(t.app.tasks.stats().subscriptions).toBe(0);
      expect(t.app.events.listenerCount()).toBe(0);
    }
  });

  it('for an unknown id is NOT_FOUND: 200 under application/json, 404 under graphql-response+json, never a 500', async () => {
    const plain = await subscribe('no-such-task', 'application/json');
    expect([plain.status, codes(await plain.json())]).toEqual([200, ['NOT_FOUND']]);
    const strict = await subscribe('no-such-task', 'application/graphql-response+json');
    expect([strict.status, codes(await strict.json())]).toEqual([404, ['NOT_FOUND']]);
  });
});
