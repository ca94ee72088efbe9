import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { describe, expect, it } from 'vitest';
import { useApp } from '../helpers/app.js';
import { wsClient } from '../helpers/clients.js';

const t = useApp();

const FIELDS = 'id status progress revision done result';
const TASK = gql`query Task($id: ID!) { task(id: $id) { ${FIELDS} } }`;
const AWAIT = gql`query Await($id: ID!, $after: Int) { awaitTask(id: $id, timeout: 30, afterRevision: $after) { ${FIELDS} } }`;
const UPDATED = gql`subscription Updated($id: ID!) { taskUpdated(id: $id) { ${FIELDS} } }`;
const CREATE = gql`mutation { createTask(kind: "apollo") { ${FIELDS} } }`;

/** The split link a React frontend would use: HTTP for queries and mutations, graphql-ws for subscriptions. */
function apollo() {
  const ws = wsClient(t.wsUrl);
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    new HttpLink({ uri: `${t.url}/graphql` }),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), ws };
}

describe('Apollo Client with an HTTP + graphql-ws split link', () => {
  it('an awaitTask result updates the cached task; a subscription keeps it current', async () => {
    const { client, ws } = apollo();
    const created = (await client.mutate({ mutation: CREATE })).data as { createTask: { id: string } };
    const id = created.createTask.id;
    await client.query({ query: TASK, variables: { id } });

    const waiting = client.query({ query: AWAIT, variables: { id, after: 1 }, fetchPolicy: 'network-only' });
    await expect.poll(() => t.app.tasks.stats().waiters).toBe(1);
    await t.gql(`mutation { claimTask(workerId: "w", leaseSeconds: 60) { id } }`);
    await waiting;
    expect(client.readQuery({ query: TASK, variables: { id } })).toMatchObject({ task: { status: 'RUNNING', revision: 2 } });

    const seen: number[] = [];
    const subscription = client.subscribe({ query: UPDATED, variables: { id } }).subscribe({
      next: ({ data }) => seen.push((data as { taskUpdated: { revision: number } }).taskUpdated.revision),
    });
    await expect.poll(() => seen).toEqual([2]);
    await t.gql(`mutation($id: ID!) { completeTask(id: $id, result: "ok") { id } }`, { id });
    await expect.poll(() => seen).toEqual([2, 3]);
    expect(client.readQuery({ query: TASK, variables: { id } })).toMatchObject({
      task: { status: 'COMPLETED', done: true, result: 'ok', revision: 3 },
    });
    subscription.unsubscribe();
    client.stop();
    await ws.dispose();
  });
});
