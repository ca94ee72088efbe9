import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { TaskService } from '../tasks/service.js';
import type { Principal } from '../tasks/principal.js';
import type { GraphQLContext } from './context.js';
import { maskError } from './errors.js';
import { useNoIntrospection, useVariableErrorCodes } from './plugins.js';
import { schema } from './schema.js';

export interface GraphQLServerOptions {
  tasks: TaskService;
  /** Maps the Authorization header to a principal; null for a missing or unknown key. */
  authenticate: (authorization: string | null) => Principal | null;
  log: Logger;
  graphiql: boolean;
  introspection: boolean;
  endpoint: string;
}

/** Node's request, as graphql-yoga's node adapter passes it in the server context. */
interface ServerContext {
  req?: { socket?: { remoteAddress?: string } };
}

/** Yoga with the task schema; over WebSocket the caller passes principal, signal and client itself. */
export function createGraphQLServer({ tasks, authenticate, log, graphiql, introspection, endpoint }: GraphQLServerOptions) {
  const plugins: Plugin[] = [useVariableErrorCodes()];
  if (!introspection) plugins.push(useNoIntrospection());

  return createYoga<ServerContext & Record<string, unknown>, Partial<GraphQLContext>>({
    schema,
    graphqlEndpoint: endpoint,
    landingPage: false,
    graphiql: graphiql && { title: 'Task status API', subscriptionsProtocol: 'WS' },
    renderGraphiQL,
    maskedErrors: { maskError },
    logging: log,
    plugins,
    context: (initial): GraphQLContext => {
      const fromWebSocket = initial as Partial<GraphQLContext>;
      if (fromWebSocket.principal && fromWebSocket.signal) {
        return { tasks, principal: fromWebSocket.principal, signal: fromWebSocket.signal, client: fromWebSocket.client ?? '' };
      }
      const principal = authenticate(initial.request.headers.get('authorization'));
      if (!principal) {
        throw new GraphQLError('A valid API key is required: Authorization: Bearer <key>.', {
          extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
        });
      }
      return { tasks, principal, signal: initial.request.signal, client: initial.req?.socket?.remoteAddress ?? '' };
    },
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;
