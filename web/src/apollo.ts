import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, type FieldPolicy } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation } from '@apollo/client/utilities';
import type { Client } from 'graphql-ws';
import { GRAPHQL_HTTP_URL } from './settings';

/**
 * Queries and mutations over HTTP (JSON POSTs, which the service's CSRF check lets through),
 * subscriptions over graphql-ws. `Task` is normalized by `id` (Apollo's default), so a list
 * page, a subscription event, a long-poll answer and a mutation result all update the same
 * cache entry and every view of that task.
 */
export function createApolloClient({ wsClient, apiKey }: { wsClient: Client; apiKey?: string }) {
  const http = new HttpLink({
    uri: GRAPHQL_HTTP_URL,
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
  });
  const link = ApolloLink.split(({ query }) => isSubscriptionOperation(query), new GraphQLWsLink(wsClient), http);
  return new ApolloClient({
    link,
    cache: new InMemoryCache({
      typePolicies: {
        Query: { fields: { tasks: taskListPolicy } },
      },
    }),
  });
}

interface Edge {
  cursor: string;
}
interface Connection {
  edges: readonly Edge[];
  pageInfo: unknown;
}

/**
 * `tasks` is cached per filter (status, kind) as one growing list:
 * - a page with `after` (load more) is appended after the edge it continues from;
 * - the first page again (the periodic refresh, or the refetch after creating a task) replaces
 *   the head of the list and keeps the pages loaded beyond it, as long as it reaches into
 *   them (otherwise the list restarts from the new first page).
 */
export const taskListPolicy: FieldPolicy<Connection> = {
  keyArgs: ['status', 'kind', 'tag'],
  merge(existing, incoming, { args }) {
    if (!existing) return incoming;
    const after = typeof args?.after === 'string' ? args.after : undefined;
    if (after !== undefined) {
      const at = existing.edges.findIndex((edge) => edge.cursor === after);
      const head = at >= 0 ? existing.edges.slice(0, at + 1) : existing.edges;
      return { ...incoming, edges: uniqueByCursor([...head, ...incoming.edges]) };
    }
    const last = incoming.edges.at(-1);
    const at = last ? existing.edges.findIndex((edge) => edge.cursor === last.cursor) : -1;
    if (at < 0 || at === existing.edges.length - 1) return incoming;
    return {
      ...existing,
      edges: uniqueByCursor([...incoming.edges, ...existing.edges.slice(at + 1)]),
    };
  },
};

function uniqueByCursor<T extends Edge>(edges: readonly T[]): T[] {
  const seen = new Set<string>();
  return edges.filter((edge) => {
    if (seen.has(edge.cursor)) return false;
    seen.add(edge.cursor);
    return true;
  });
}
