import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import type { RequestNotes } from '../graphql/context.js';
import { toGraphQLError } from '../graphql/errors.js';
import { resultJson } from '../graphql/execution.js';
import { executeOperation, prepareOperation, type Caller, type GraphQLServer, type OperationParams } from '../graphql/pipeline.js';
import { unauthenticated } from '../tasks/errors.js';
import type { Principal } from '../tasks/principal.js';
import type { Authenticate } from './auth.js';

export interface GraphQLHttpOptions {
  yoga: GraphQLServer;
  /** Yoga's `graphqlEndpoint`, e.g. `/graphql`. */
  endpoint: string;
  /** `false` (`GRAPHQL_FAST_PATH=false`): every request goes through `yoga.handle`. */
  fastPath: boolean;
  authenticate: Authenticate;
  /** The notes the HTTP transport keeps on a request. */
  notesOf: (req: IncomingMessage) => RequestNotes | undefined;
  /** Where `task_api_graphql_http_requests_total{handler="fast"|"yoga"}` is registered. */
  registry: Registry;
}

/** GraphQL over HTTP for one node request; `url` is the request's URL, already parsed. */
export type GraphQLHttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/**
 * GraphQL over HTTP: a lean route for the common request, Yoga for everything else.
 *
 * `yoga.handle` turns every node request into a fetch `Request` and its answer into a fetch
 * `Response` copied back onto the node response, a large share of what a `task(id)` read
 * costs (README, Performance). The lean route runs the operation through the same pipeline as
 * graphql-ws (`prepareOperation` on Yoga's `getEnveloped`: every envelop plugin) and writes
 * the answer with node:http, as Yoga's regular result processor would (`answer`).
 *
 * It takes a JSON POST (an object body that `app.ts` parsed) or a GET on the endpoint, when
 * nothing in it needs Yoga's HTTP layer: no `Origin` (CORS), an `Accept` that picks a plain
 * JSON answer (absent, `*\/*`, `application/json` or `application/graphql-response+json`),
 * only the four GraphQL parameters, and a document that cannot stream (no `subscription`,
 * `@defer`, `@stream`). Everything else, decided before anything is parsed, goes to Yoga:
 * GraphiQL, content negotiation, CSRF and media-type refusals, batches, SSE.
 */
export function createGraphQLHttpHandler({ yoga, endpoint, fastPath, authenticate, notesOf, registry }: GraphQLHttpOptions): GraphQLHttpHandler {
  const requests = new Counter({
    name: 'task_api_graphql_http_requests_total',
    help: 'GraphQL requests over HTTP, by who answered them: the lean route ("fast") or yoga.handle ("yoga").',
    labelNames: ['handler'],
    registers: [registry],
  });
  const answeredFast = requests.labels('fast');
  const answeredByYoga = requests.labels('yoga');

  /**
   * Runs the operation and writes its answer; never rejects. Not awaited by the request
   * handler, so that a held request (an awaitTask) keeps only this frame alive for its wait.
   */
  async function run(req: IncomingMessage, res: ServerResponse, params: OperationParams, mediaType: string): Promise<void> {
    answeredFast.inc();
    let result: ExecutionResult;
    try {
      result = await execute(req, res, params);
    } catch (error) {
      // Yoga answers what escapes its pipeline masked, and logs it; so does this route.
      yoga.logger.error(error);
      result = { errors: [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', unexpected: true } })] };
    }
    if (res.destroyed || res.writableEnded) return;
    try {
      answer(res, result, mediaType);
    } catch (error) {
      // A header value node refuses: nothing sensible can be sent any more.
      yoga.logger.error(error);
      res.destroy();
    }
  }

  async function execute(req: IncomingMessage, res: ServerResponse, params: OperationParams): Promise<ExecutionResult> {
    const principal = authenticate(headerOf(req, 'authorization'));
    if (!principal) return { errors: [toGraphQLError(unauthenticated())] };
    const caller = new HttpCaller(principal, req.socket.remoteAddress ?? '', notesOf(req), req, res);
    let prepared;
    try {
      prepared = prepareOperation(yoga, caller, params, (operation) =>
        operation !== 'query' && req.method === 'GET' ? MUTATION_OVER_GET() : null,
      );
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      return { errors: [asParseFailure(error)] };
    }
    if (!('operation' in prepared)) return { errors: prepared };
    return executeOperation(await prepared.args());
  }

  return async (req, res, url) => {
    if (fastPath && url.pathname === endpoint && req.headers.origin === undefined) {
      const mediaType = MEDIA_TYPES.get(req.headers.accept ?? '*/*');
      const params = mediaType && (req.method === 'POST' ? postParams(req) : req.method === 'GET' ? getParams(url) : null);
      if (mediaType && params && !MAY_STREAM.test(params.query)) return void run(req, res, params, mediaType);
    }
    answeredByYoga.inc();
    await yoga.handle(req, res, { req });
  };
}

/** The media type Yoga answers a single result with, for the `Accept` values the lean route takes. */
const MEDIA_TYPES = new Map([
  ['*/*', 'application/json'],
  ['application/json', 'application/json'],
  ['application/graphql-response+json', 'application/graphql-response+json'],
]);

/** Only these words can make a result stream (a subscription, or @defer/@stream with Yoga's plugin). */
const MAY_STREAM = /subscription|@defer|@stream/;

const PARAM_NAMES = new Set(['query', 'variables', 'operationName', 'extensions']);

/** A JSON POST's parameters, when Yoga would take them as they are; null for Yoga to answer. */
function postParams(req: IncomingMessage): OperationParams | null {
  const contentType = req.headers['content-type']?.split(',')[0];
  if (contentType !== 'application/json' && !contentType?.startsWith('application/json;')) return null;
  const body = (req as { body?: unknown }).body;
  if (!isObject(body)) return null;
  for (const key in body) if (body[key] != null && !PARAM_NAMES.has(key)) return null;
  const { query, variables, operationName, extensions } = body;
  if (typeof query !== 'string' || !isObjectOrNone(variables) || !isObjectOrNone(extensions)) return null;
  if (operationName != null && typeof operationName !== 'string') return null;
  return { query, variables, operationName, extensions };
}

/** A GET's parameters, read as Yoga's GET parser reads them; null for Yoga to answer (or refuse). */
function getParams(url: URL): OperationParams | null {
  const query = url.searchParams.get('query');
  if (!query) return null;
  try {
    const variables = jsonParam(url.searchParams.get('variables'));
    const extensions = jsonParam(url.searchParams.get('extensions'));
    if (!isObjectOrNone(variables) || !isObjectOrNone(extensions)) return null;
    return { query, variables, extensions, operationName: url.searchParams.get('operationName') || undefined };
  } catch {
    return null;
  }
}

const jsonParam = (text: string | null): any => (text ? JSON.parse(text) : undefined);

/**
 * Writes a single result as Yoga's regular result processor does: the status and headers its
 * errors ask for (`extensions.http`), 500 for unexpected errors without data, else 200; the
 * body without Yoga's internal extensions, serialized by the result's own `stringify` (the
 * compiled serializer) when it has no errors. test/http/fast-path.test.ts compares both over
 * sockets, and test/http/lean-route-canary.test.ts compares this with Yoga's processor.
 */
function answer(res: ServerResponse, result: ExecutionResult, mediaType: string): void {
  const { status, headers, body } = encodeResult(result, mediaType);
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}

/** Status, headers and body of a single result, as Yoga's `processRegularResult` gives them. */
export function encodeResult(result: ExecutionResult, mediaType: string): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { 'Content-Type': `${mediaType}; charset=utf-8` };
  const http = result.extensions?.http as HttpNote | undefined;
  if (!result.errors?.length && !http) {
    return { status: 200, headers, body: resultJson(result) };
  }
  let status = http?.status;
  if (http?.headers) Object.assign(headers, http.headers);
  let unexpected = false;
  for (const error of result.errors ?? []) {
    const note = error.extensions?.http as HttpNote | undefined;
    if (note) {
      if (note.headers) Object.assign(headers, note.headers);
      // Under application/json, an error the GraphQL-over-HTTP spec answers 200 keeps it.
      if (mediaType === 'application/json' && note.spec) continue;
      if (note.status && (!status || note.status > status)) status = note.status;
    } else if (!isOriginalGraphQLError(error) || error.extensions?.unexpected) {
      unexpected = true;
    }
  }
  status ??= unexpected && !('data' in result) ? 500 : 200;
  const sent: Record<string, unknown> = { ...result };
  if (result.errors) sent.errors = result.errors.map(formatted);
  if (result.extensions) {
    const { http: _http, ...extensions } = result.extensions;
    sent.extensions = Object.keys(extensions).length > 0 ? extensions : undefined;
  }
  return { status, headers, body: JSON.stringify(sent) };
}

interface HttpNote {
  status?: number;
  headers?: Record<string, string>;
  spec?: boolean;
}

/** An error as sent: graphql-js's JSON form, without Yoga's internal extensions (`http`, `unexpected`). */
function formatted(error: GraphQLError): Record<string, unknown> {
  const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions ?? {};
  const json: Record<string, unknown> = { message: error.message };
  if (error.locations) json.locations = error.locations;
  if (error.path) json.path = error.path;
  if (Object.keys(extensions).length > 0) json.extensions = extensions;
  return json;
}

/** A GraphQL error that wraps no other kind of error (Yoga's test for "expected"). */
function isOriginalGraphQLError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'GraphQLError') return false;
  const original = (error as GraphQLError).originalError;
  return original == null || isOriginalGraphQLError(original);
}

/** A parse failure as Yoga labels it: GRAPHQL_PARSE_FAILED, 400 under the GraphQL response type, 200 under JSON. */
function asParseFailure(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, any>;
  extensions.code ||= 'GRAPHQL_PARSE_FAILED';
  const http = (extensions.http ||= {});
  http.spec ||= true;
  http.status ||= 400;
  return error;
}

/** Yoga's refusal of a mutation sent over GET. */
const MUTATION_OVER_GET = () =>
  new GraphQLError('Can only perform a mutation operation from a POST request.', {
    extensions: { http: { status: 405, headers: { Allow: 'POST' } }, code: 'BAD_REQUEST' },
  });

function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const isObjectOrNone = (value: unknown) => value == null || isObject(value);

/**
 * The caller of a request on the lean route, the initial context of its operation. `signal`
 * is made on first read (only a held awaitTask reads it): it aborts when the client goes away
 * before the answer is written.
 */
class HttpCaller implements Caller {
  private controller: AbortController | undefined;

  constructor(
    readonly principal: Principal,
    readonly client: string,
    readonly trace: RequestNotes | undefined,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.res.closed) this.abortUnlessAnswered();
      else this.res.once('close', this.abortUnlessAnswered.bind(this));
    }
    return this.controller.signal;
  }

  private abortUnlessAnswered(): void {
    const { res, controller } = this;
    if (!res.writableFinished && !controller!.signal.aborted) controller!.abort(res.errored ?? undefined);
  }
}
