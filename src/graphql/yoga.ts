import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
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

/** Per-operation limits enforced by graphql-armor at validation. */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxDirectives: number;
}

export interface GraphQLServerOptions {
  tasks: TaskService;
  /** Maps the Authorization header to a principal; null for a missing or unknown key. */
  authenticate: (authorization: string | null) => Principal | null;
  log: Logger;
  graphiql: boolean;
  introspection: boolean;
  endpoint: string;
  limits: OperationLimits;
}

/**
 * A POST that a browser would send without a CORS preflight (a form or text/plain body) must
 * carry one of these headers, so another site cannot make a visitor's browser run mutations
 * here. JSON POSTs are preflighted and need none; `authorization` counts, since a page cannot
 * add it to a simple request.
 */
const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'graphql-require-preflight', 'apollo-require-preflight', 'authorization'];

/**
 * Yoga's CSRF prevention for POSTs only. A GET can carry no mutation (Yoga answers 405), and
 * the contract serves queries and SSE over plain GET, which every query here is safe for.
 */
function useCSRFPreventionForPosts(): Plugin {
  const { onRequestParse } = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });
  return {
    onRequestParse: (payload) => (payload.request.method === 'GET' ? undefined : onRequestParse?.(payload)),
  };
}

/** Node's request, as graphql-yoga's node adapter passes it in the server context. */
interface ServerContext {
  req?: { socket?: { remoteAddress?: string } };
}

/** Yoga with the task schema; over WebSocket the caller passes principal, signal and client itself. */
export function createGraphQLServer({ tasks, authenticate, log, graphiql, introspection, endpoint, limits }: GraphQLServerOptions) {
  const armor = new EnvelopArmor({
    maxDepth: { n: limits.maxDepth },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    costLimit: { maxCost: limits.maxCost },
    maxDirectives: { n: limits.maxDirectives },
    blockFieldSuggestion: { enabled: true },
  });
  const plugins: Plugin[] = [
    ...(armor.protect().plugins as Plugin[]),
    useCSRFPreventionForPosts(),
    useVariableErrorCodes(),
  ];
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
    context: (initial): Partial<GraphQLContext> => {
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
      // The request's signal is taken on first use, by the context itself (the object resolvers
      // get): only a held awaitTask needs one, and the lean HTTP path makes its AbortController
      // (about 5 µs) only when asked. Returned, it would be copied, so read, at once.
      const { request } = initial;
      Object.defineProperty(initial, 'signal', { get: () => request.signal, enumerable: true, configurable: true });
      return { tasks, principal, client: initial.req?.socket?.remoteAddress ?? '' };
    },
  });
}
