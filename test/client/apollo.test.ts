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

const LIST = gql`query List { tasks(first: 50) { edges { node { ${FIELDS} } } changesCursor } }`;
const CHANGES = gql`subscription Changes($after: String) { taskChanges(after: $after) { cursor task { ${FIELDS} } } }`;

interface ListData {
  tasks: { edges: { __typename?: 'TaskEdge'; node: { id: string; status: string } }[]; changesCursor: string };
}
interface ChangeData {
  taskChanges: { cursor: string; task: { id: string; status: string } };
}

describe('Apollo Client: the list, then subscribeToMore from its changesCursor', () => {
  it('a task created after the list joins it through updateQuery; a listed task\'s change updates it', async () => {
    const { client, ws } = apollo();
    const listed = (await client.mutate({ mutation: CREATE })).data as { createTask: { id: string } };
    const list = client.watchQuery<ListData>({ query: LIST });
    const views: ListData[] = [];
    const watching = list.subscribe({ next: ({ data }) => data && views.push(data as ListData) });
    await expect.poll(() => views.length).toBeGreaterThan(0);
    const { changesCursor } = views.at(-1)!.tasks;
    // Made between the list and the subscription: the cursor brings it anyway.
    const between = ((await t.gql(`mutation { createTask(kind: "between") { id } }`)).data!.createTask as { id: string }).id;

    // As in the README: tasks already listed update in the cache by id; new ones go on top.
    const unsubscribe = list.subscribeToMore<ChangeData>({
      document: CHANGES,
      variables: { after: changesCursor },
      updateQuery: (_, { previousData, complete, subscriptionData }) => {
        if (!complete) return;
        const { task } = subscriptionData.data.taskChanges;
        if (previousData.tasks.edges.some((edge) => edge.node.id === task.id)) return previousData;
        return { ...previousData, tasks: { ...previousData.tasks, edges: [{ __typename: 'TaskEdge' as const, node: task }, ...previousData.tasks.edges] } };
      },
    });
    const ids = () => views.at(-1)!.tasks.edges.map((edge) => edge.node.id);
    await expect.poll(ids).toEqual([between, listed.createTask.id]);
    const later = ((await t.gql(`mutation { createTask(kind: "later") { id } }`)).data!.createTask as { id: string }).id;
    await expect.poll(ids).toEqual([later, between, listed.createTask.id]);

    await t.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: listed.createTask.id });
    const statusOf = (id: string) => views.at(-1)!.tasks.edges.find((edge) => edge.node.id === id)!.node.status;
    await expect.poll(() => statusOf(listed.createTask.id)).toBe('CANCELLED');
    expect(ids()).toEqual([later, between, listed.createTask.id]);
    // Normalized like any other Task: the change went into the cache entry every view reads.
    expect(client.readFragment({ id: `Task:${later}`, fragment: gql`fragment Later on Task { ${FIELDS} }` })).toMatchObject({ id: later, status: 'QUEUED', revision: 1 });

    unsubscribe();
    watching.unsubscribe();
    client.stop();
    await ws.dispose();
  });
});
