import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type CORSOptions, type Plugin, type YogaLogger, type YogaServerInstance } from 'graphql-yoga';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult, type OperationTypeNode, type ValidationContext } from 'graphql';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { unauthenticated } from '../tasks/errors.js';
import type { StreamSlot, TaskService } from '../tasks/service.js';
import type { Principal } from '../tasks/principal.js';
import type { GraphQLContext, RequestNotes } from './context.js';
import { maskError, toGraphQLError } from './errors.js';
import { useCompiledExecution } from './execution.js';
import { useAuthenticationFirst, useDocumentNestingLimit, useMalformedParamsRefusal, useNoIntrospection, useNoSuggestions, useStreamsEndWithTheirClients, useUnbufferedEventStreams, useUnexpectedErrorLog, useUnstreamableSubscriptionRefusal, useUnsupportedMediaTypeError, useVariableErrorCodes } from './plugins.js';
import { useNotAcceptableBeforeExecution } from './accept.js';
import { useOperationMetrics } from './operation-metrics.js';
import { useSubscriptionRootDirectivesRule } from './validation.js';
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
  /** Where the GraphQL operation metrics are registered. */
  registry: Registry;
  /** The CORS headers for a request (Yoga's `cors` option); `false`: none. */
  cors: (request: Request) => CORSOptions;
  /** The notes the HTTP transport keeps on a request, if it keeps any. */
  notesOf: (req: unknown) => RequestNotes | undefined;
  /** How many times a document runs on graphql-js before it is compiled (`useCompiledExecution`). */
  compileAfter: number;
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

/**
 * `signal` on an HTTP context: the request's, taken on first read. One getter for every context
 * (it reads `this`): a getter made per request would cost a closure, and give every context a
 * shape of its own (a property dictionary), for as long as the request is held.
 */
const SIGNAL_OF_REQUEST: PropertyDescriptor = {
  get(this: { request: Request }) {
    return this.request.signal;
  },
  enumerable: true,
  configurable: true,
};

/**
 * graphql-armor's validation rules throw their refusal by default, which skips Yoga's handling
 * of validation errors: under `Accept: application/graphql-response+json` the answer was then
 * HTTP 200, where the GraphQL-over-HTTP specification asks for a 4xx. Reported as validation
 * errors instead, they get Yoga's 400 and `GRAPHQL_VALIDATION_FAILED`, like graphql-js's own
 * rules. (The token limit refuses in the parser, which already answers 400.)
 */
const REPORT_IN_VALIDATION = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/** Node's request, as graphql-yoga's node adapter passes it in the server context. */
interface ServerContext {
  req?: { socket?: { remoteAddress?: string } };
}

/**
 * Yoga's own logging through pino, without a second line for an error that
 * `useUnexpectedErrorLog` has already logged with its request's id.
 */
function yogaLogger(log: Logger, alreadyLogged: WeakSet<object>): YogaLogger {
  return {
    debug: log.debug.bind(log),
    info: log.info.bind(log),
    warn: log.warn.bind(log),
    error: (first: unknown, message?: string, ...rest: unknown[]) => {
      if (typeof first === 'object' && first !== null && alreadyLogged.has(first)) return;
      log.error(first, message, ...rest);
    },
  };
}

/** GraphiQL as this service serves it: its page's title, and subscriptions over graphql-ws. */
export const GRAPHIQL_OPTIONS = { title: 'Task status API', subscriptionsProtocol: 'WS' } as const;

export type GraphQLServer = YogaServerInstance<ServerContext & Record<string, unknown>, Partial<GraphQLContext>>;

/**
 * The one GraphQL operation pipeline, for every transport: Yoga with the task schema and every
 * plugin (graphql-armor's limits, error codes and masking, the unexpected-error log,
 * Prometheus metrics, compiled execution, shared subscription events). Yoga serves HTTP and
 * SSE itself; graphql-ws and the lean HTTP route run operations through the same plugins with
 * `prepareOperation`, on Yoga's `getEnveloped`.
 */
export function createGraphQLServer({ tasks, authenticate, log, graphiql, introspection, endpoint, limits, registry, cors, notesOf, compileAfter }: GraphQLServerOptions) {
  const armor = new EnvelopArmor({
    maxDepth: { n: limits.maxDepth, ...REPORT_IN_VALIDATION },
    maxAliases: { n: limits.maxAliases, ...REPORT_IN_VALIDATION },
    maxTokens: { n: limits.maxTokens },
    costLimit: { maxCost: limits.maxCost, ...REPORT_IN_VALIDATION },
    maxDirectives: { n: limits.maxDirectives, ...REPORT_IN_VALIDATION },
    // Off: it hides field suggestions behind a marker that still tells one was there;
    // useNoSuggestions strips every kind of suggestion instead.
    blockFieldSuggestion: { enabled: false },
  });
  /** The principal of each HTTP request, authenticated before its document is read. */
  const principals = new WeakMap<object, Principal>();
  const loggedErrors = new WeakSet<object>();
  const plugins: Plugin[] = [
    ...(armor.protect().plugins as Plugin[]),
    useAuthenticationFirst(authenticate, principals),
    useNoSuggestions(),
    useDocumentNestingLimit(),
    useCSRFPreventionForPosts(),
    useUnsupportedMediaTypeError(),
    useMalformedParamsRefusal(),
    useNotAcceptableBeforeExecution(),
    useSubscriptionRootDirectivesRule(),
    useVariableErrorCodes(),
    useUnstreamableSubscriptionRefusal(),
    useUnbufferedEventStreams(),
    useStreamsEndWithTheirClients(),
    useUnexpectedErrorLog(log, loggedErrors),
    // Operations counted and timed by type and outcome; not by operation name or error path
    // (response keys, so aliases), which a client could make up without end.
    useOperationMetrics(registry),
  ];
  if (!introspection) plugins.push(useNoIntrospection());
  plugins.push(useCompiledExecution({ compileAfter }));

  return createYoga<ServerContext & Record<string, unknown>, Partial<GraphQLContext>>({
    schema,
    graphqlEndpoint: endpoint,
    landingPage: false,
    cors,
    graphiql: graphiql && GRAPHIQL_OPTIONS,
    renderGraphiQL,
    maskedErrors: { maskError },
    logging: yogaLogger(log, loggedErrors),
    plugins,
    context: (initial): Partial<GraphQLContext> => {
      // A transport of ours (graphql-ws, the lean HTTP route) has put the caller on the initial
      // context itself (`Caller`): the context is that object, extended.
      if ('principal' in initial && initial.principal) return { tasks };
      const principal = principals.get(initial.request) ?? authenticate(initial.request.headers.get('authorization'));
      if (!principal) throw toGraphQLError(unauthenticated());
      // The request's signal is taken on first use, by the context itself (the object resolvers
      // get): only a held awaitTask needs one, and the lean HTTP path makes its AbortController
      // only when asked. Returned, it would be copied, so read, at once.
      Object.defineProperty(initial, 'signal', SIGNAL_OF_REQUEST);
      return { tasks, principal, client: initial.req?.socket?.remoteAddress ?? '', trace: notesOf(initial.req) };
    },
  });
}

/**
 * Who runs an operation, as a transport of ours knows it before the pipeline runs it: put on
 * the initial context, which becomes the operation's context. `signal` may be a getter (the
 * lean HTTP route makes its AbortController only when a resolver asks).
 */
export interface Caller {
  principal: Principal;
  signal: AbortSignal;
  client: string;
  trace?: RequestNotes;
}

/** An operation as a client sends it (GraphQL over HTTP's parameters, graphql-ws's `subscribe` payload). */
export interface OperationParams {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** An operation parsed and validated, ready to run. */
export interface PreparedOperation {
  operation: OperationTypeNode;
  /**
   * Builds the operation's context (with the subscription's stream slot, reserved by the
   * caller) and the arguments `executeOperation` or `subscribeOperation` takes.
   */
  args(streamSlot?: StreamSlot): Promise<ExecutionArgs>;
}

/** What `prepareOperation` hands `executeOperation` and `subscribeOperation`, in `rootValue` (Yoga's graphql-ws recipe). */
interface Runners {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * Parses and validates one operation through Yoga's `getEnveloped` (armor's limits, the parse
 * and validation caches, the suggestion stripping of every plugin): the operation to run, or
 * the errors that refuse it. `initial` is the transport's own context (`req`, `socket`…) with
 * the caller on it. `refuse` may refuse an operation type before validation, as Yoga refuses
 * a mutation over GET. A document that does not parse throws its GraphQLError.
 */
export function prepareOperation(
  yoga: GraphQLServer,
  initial: Caller,
  params: OperationParams,
  refuse: (operation: OperationTypeNode) => GraphQLError | null = () => null,
): PreparedOperation | readonly GraphQLError[] {
  const { schema, parse, validate, contextFactory, execute, subscribe } = yoga.getEnveloped(Object.assign(initial as Caller & Record<string, unknown>, { params }));
  const document = parse(params.query);
  const operation = getOperationAST(document, params.operationName)?.operation;
  if (!operation) return [new GraphQLError('Could not determine what operation to execute.', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } })];
  const refusal = refuse(operation);
  if (refusal) return [refusal];
  const errors = validate(schema, document);
  if (errors.length > 0) return errors;
  const runners: Runners = { execute, subscribe };
  return {
    operation,
    args: async (streamSlot) => ({
      schema,
      document,
      operationName: params.operationName,
      variableValues: params.variables,
      contextValue: await contextFactory(streamSlot ? { streamSlot } : undefined),
      rootValue: runners,
    }),
  };
}

/** Runs a prepared query or mutation through envelop's execute (its hooks: masking, logging, metrics). */
export const executeOperation = (args: ExecutionArgs) => (args.rootValue as Runners).execute(args) as Promise<ExecutionResult> | ExecutionResult;

/** Runs a prepared subscription through envelop's subscribe (its hooks: masking, logging, metrics). */
export const subscribeOperation = (args: ExecutionArgs) =>
  (args.rootValue as Runners).subscribe(args) as Promise<ExecutionResult | AsyncGenerator<ExecutionResult>> | ExecutionResult | AsyncGenerator<ExecutionResult>;
