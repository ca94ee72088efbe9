import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGraphQLError, isAsyncIterable, processRegularResult, type GraphQLParams, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { Counter, type Registry } from 'prom-client';
import { STREAMED_RESULTS_ONLY } from '../graphql/plugins.js';

type Yoga = YogaServerInstance<Record<string, any>, Record<string, any>>;

export interface GraphQLHttpOptions {
  yoga: Yoga;
  /** Yoga's `graphqlEndpoint`, e.g. `/graphql`. */
  endpoint: string;
  /** `false` (`GRAPHQL_FAST_PATH=false`): every request goes through `yoga.handle`. */
  fastPath: boolean;
  /** Where `task_api_graphql_http_requests_total{handler="fast"|"yoga"}` is registered. */
  registry: Registry;
}

/**
 * GraphQL over HTTP for one node request; `url` is the request's URL, already parsed.
 * Resolves once the request is answered, or (on the lean path) once its answer is under way.
 */
export type GraphQLHttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/**
 * GraphQL over HTTP: a lean path for the common request, Yoga for everything else.
 *
 * Why: `yoga.handle` turns every node request into a fetch `Request` (headers, URL, body,
 * abort signal) and its answer into a fetch `Response` that is then copied back onto the
 * node `ServerResponse`. For a `task(id)` read that layer is a large share of what
 * `yoga.handle` costs (the `read` benchmark measures it: README, Performance). The lean path runs the same Yoga pieces on a small stand-in for the fetch
 * `Request` built over the node request: the adapter's onRequest hooks, `yoga.parseRequest`
 * (every onRequestParse hook: CSRF, method and batching checks, Yoga's JSON and GET
 * parsers), `yoga.getResultForParams` (the onParams hooks, then `getEnveloped`'s parse →
 * validate → context → execute with armor, the parse/validate caches, auth in the context,
 * error masking and logging), Yoga's `processRegularResult` for status, headers and body,
 * and the onResponse hooks (CORS); then it writes the answer with one `res.end`.
 *
 * What falls back to `yoga.handle`, decided before anything executes: another path or a
 * method other than GET and POST; a POST whose body is not a JSON object parsed by `app.ts`
 * (`application/json` only: form, text, multipart, batches, malformed JSON); an onRequest or
 * onRequestParse hook that answers, reroutes or throws (CORS preflight, GraphiQL, CSRF
 * refusals, 415s, bad GET variables); parameters Yoga's `checkGraphQLQueryParams` would
 * refuse; a query that mentions `subscription`, `@defer` or `@stream` (a result that may
 * stream); an `Accept` for which Yoga would not pick its regular JSON processor (SSE,
 * multipart, unacceptable types). The lean path stays off altogether when a plugin carries
 * Yoga `instrumentation` (it would skip the traced phases) or an onResultProcess hook of
 * its own (it could choose another answer than the one negotiated here) that is not marked
 * as acting on streamed results only (`STREAMED_RESULTS_ONLY`).
 */
export function createGraphQLHttpHandler({ yoga, endpoint, fastPath, registry }: GraphQLHttpOptions): GraphQLHttpHandler {
  // Every plugin, Yoga's own included, in the order Yoga and its adapter run their hooks.
  // `protected` in Yoga's typings, but the adapter's Proxy hands it out like any other field.
  const plugins = (yoga as unknown as { plugins: Plugin[] }).plugins.filter(Boolean);
  const requestHooks = plugins.flatMap((plugin) => (plugin.onRequest ? [plugin.onRequest] : [])) as AnyHook[];
  const responseHooks = plugins.flatMap((plugin) => (plugin.onResponse ? [plugin.onResponse] : [])) as AnyHook[];
  // Yoga's own useResultProcessors is always one; a second would be some plugin's (but one that
  // acts on streamed results only, which never come this way).
  const [resultProcessHook, ...otherResultProcessHooks] = plugins.flatMap((plugin) =>
    plugin.onResultProcess && !STREAMED_RESULTS_ONLY.has(plugin.onResultProcess) ? [plugin.onResultProcess] : [],
  ) as AnyHook[];
  const enabled = fastPath && otherResultProcessHooks.length === 0 && !plugins.some((plugin) => plugin.instrumentation);
  const { parseRequest, getResultForParams, waitUntil } = yoga;
  const fetchAPI = { ...yoga.fetchAPI, Response: LeanResponse };
  const mediaTypes = new Map<string, string | null>();
  const requests = new Counter({
    name: 'task_api_graphql_http_requests_total',
    help: 'GraphQL requests over HTTP, by who answered them: the lean path ("fast") or yoga.handle ("yoga").',
    labelNames: ['handler'],
    registers: [registry],
  });
  const answeredFast = requests.labels('fast');
  const answeredByYoga = requests.labels('yoga');

  /**
   * Resolves true once the lean path has taken the request (parsed, and its execution
   * started: the answer is then written by `answer`, however long it takes), or false having
   * executed nothing and written nothing, for `yoga.handle` to answer instead.
   */
  async function tryFastPath(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname !== endpoint) return false;
    if (req.method === 'POST') {
      if (!isJsonContentType(req.headers['content-type']) || !isObject((req as { body?: unknown }).body)) return false;
    } else if (req.method !== 'GET') {
      return false;
    }
    const mediaType = regularMediaType(req.headers.accept);
    if (mediaType === null) return false;
    const request = new LeanRequest(req, res);
    const serverContext: Record<string, unknown> = { req, res, waitUntil };
    let params: Params;
    try {
      if (!runRequestHooks(request, serverContext, url)) return false;
      const parsing = parseRequest(request as unknown as Request, serverContext as never);
      const parsed = isThenable(parsing) ? await parsing : (parsing as Awaited<typeof parsing>);
      if (parsed.response || !isPlainParams(parsed.requestParserResult) || MAY_STREAM.test(parsed.requestParserResult.query)) return false;
      params = parsed.requestParserResult;
    } catch {
      return false;
    }
    void answer(request, params, serverContext, mediaType);
    return true;
  }

  /**
   * Executes and writes the answer; never rejects. Apart from `tryFastPath` (and from the
   * request handler that awaits it), so that a held request (an `awaitTask`) keeps only this
   * small frame alive for its wait, not theirs.
   */
  async function answer(request: LeanRequest, params: Params, serverContext: Record<string, unknown>, mediaType: string): Promise<void> {
    let response: LeanResponse;
    try {
      const executing = getResultForParams({ params, request: request as unknown as Request }, serverContext);
      const result = isThenable(executing) ? await executing : (executing as Awaited<typeof executing>);
      if (!result || isAsyncIterable(result)) {
        if (result) void result[Symbol.asyncIterator]().return?.();
        throw new Error('a query that cannot stream gave no single result');
      }
      response = processRegularResult(result, fetchAPI as never, mediaType) as unknown as LeanResponse;
      response = await runResponseHooks(request, response, serverContext);
    } catch (error) {
      // Yoga catches what its hooks throw past execution and answers it masked; none of this
      // service's plugins throws there, so this is a bug: logged, and masked the same way.
      yoga.logger.error(error);
      const unexpected = createGraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', unexpected: true } });
      response = processRegularResult({ errors: [unexpected] }, fetchAPI as never, mediaType) as unknown as LeanResponse;
    }
    answeredFast.inc();
    const { res } = request;
    if (res.destroyed || res.writableEnded) return;
    try {
      res.writeHead(response.status, response.statusText, response.headers.record);
      res.end(response.body ?? undefined);
    } catch (error) {
      // A header value node refuses: nothing sensible can be sent any more.
      yoga.logger.error(error);
      res.destroy();
    }
  }

  /**
   * The media type Yoga's result processors answer a single (not streamed) result with for
   * this `Accept`, when that is its regular JSON processor; null for any other choice (SSE,
   * multipart) or none (406). Yoga's choice depends on nothing else, so it is remembered per
   * header value (a bounded number of them).
   */
  function regularMediaType(accept: string | undefined): string | null {
    const key = accept ?? '';
    let mediaType = mediaTypes.get(key);
    if (mediaType === undefined) {
      mediaType = null;
      resultProcessHook!({
        request: { headers: new NodeHeaders(accept === undefined ? {} : { accept }) },
        acceptableMediaTypes: [],
        result: {},
        setResult: () => undefined,
        resultProcessor: undefined,
        setResultProcessor: (processor: unknown, chosen: string) => {
          mediaType = processor === processRegularResult ? chosen : null;
        },
        serverContext: {},
      });
      if (mediaTypes.size < MAX_REMEMBERED_ACCEPT_HEADERS) mediaTypes.set(key, mediaType);
    }
    return mediaType;
  }

  /**
   * The adapter's onRequest hooks (health check, CORS preflight, GraphiQL, unknown routes);
   * false when one of them answers, reroutes or waits (the adapter would await it; Yoga's own
   * never do for a request the lean path takes).
   */
  function runRequestHooks(request: LeanRequest, serverContext: Record<string, unknown>, url: URL): boolean {
    let handOver = false;
    const decline = (replacement?: unknown) => {
      if (replacement) handOver = true;
    };
    const payload = { request, setRequest: decline, serverContext, fetchAPI, url, requestHandler: undefined, setRequestHandler: decline, endResponse: decline };
    for (const hook of requestHooks) {
      if (isThenable(hook(payload)) || handOver) return false;
    }
    return true;
  }

  /** The adapter's onResponse hooks (CORS headers), on the lean response. */
  async function runResponseHooks(request: LeanRequest, response: LeanResponse, serverContext: Record<string, unknown>): Promise<LeanResponse> {
    const setResponse = (replacement: unknown) => {
      if (!(replacement instanceof LeanResponse)) throw new Error('an onResponse hook replaced the response with one the lean path cannot write');
      response = replacement;
    };
    for (const hook of responseHooks) {
      const pending = hook({ request, response, serverContext, fetchAPI, setResponse });
      if (isThenable(pending)) await pending;
    }
    return response;
  }

  return async (req, res, url) => {
    if (enabled && (await tryFastPath(req, res, url))) return;
    answeredByYoga.inc();
    await yoga.handle(req, res, { req });
  };
}

/** Distinct `Accept` values whose negotiated media type is remembered; others are negotiated each time. */
const MAX_REMEMBERED_ACCEPT_HEADERS = 64;

/** Only these words can make a result stream (a subscription, or @defer/@stream with Yoga's plugin). */
const MAY_STREAM = /subscription|@defer|@stream/;

type AnyHook = (payload: any) => unknown;

type Params = GraphQLParams & { query: string };

const PARAM_NAMES = new Set(['query', 'variables', 'operationName', 'extensions']);

/** What Yoga's `checkGraphQLQueryParams` (an onParams hook) lets through, so it cannot throw once execution is under way. */
function isPlainParams(params: unknown): params is Params {
  if (!isObject(params)) return false;
  for (const key in params) {
    if (params[key] != null && !PARAM_NAMES.has(key)) return false;
  }
  return typeof params.query === 'string' && (params.variables == null || isObject(params.variables)) && (params.extensions == null || isObject(params.extensions));
}

/** Yoga's `isPOSTJsonRequest`, for `application/json` only (`app.ts` parses no other body). */
function isJsonContentType(contentType: string | undefined): boolean {
  const first = contentType?.split(',')[0];
  return first === 'application/json' || first?.startsWith('application/json;') === true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isThenable(value: unknown): boolean {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** The node request's headers as the part of fetch's `Headers` that Yoga and the plugins read. */
class NodeHeaders {
  constructor(private readonly headers: IncomingMessage['headers']) {}

  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.headers[name.toLowerCase()] !== undefined;
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const name of Object.keys(this.headers)) callback(this.get(name)!, name);
  }
}

/**
 * A stand-in for the fetch `Request` that Yoga's adapter would build: method, URL, headers,
 * the JSON body `app.ts` already parsed, and a signal that aborts when the client goes away
 * before the answer is written (as the adapter's does).
 */
class LeanRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: NodeHeaders;
  /** The body was read by `app.ts`; like Yoga's own request over a parsed body, this has no stream. */
  readonly body = null;
  private controller: AbortController | undefined;

  constructor(
    private readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.method = req.method!;
    this.url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
    this.headers = new NodeHeaders(req.headers);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.res.closed) this.abortUnlessAnswered();
      // A bound method rather than a closure: it stays registered for the whole of a held
      // request, and tsx gives every named closure its own property dictionary (~250 bytes).
      else this.res.once('close', this.abortUnlessAnswered.bind(this));
    }
    return this.controller.signal;
  }

  private abortUnlessAnswered(): void {
    const { res, controller } = this;
    if (!res.writableFinished && !controller!.signal.aborted) controller!.abort(res.errored ?? undefined);
  }

  json(): unknown {
    return (this.req as { body?: unknown }).body;
  }

  text(): string {
    return JSON.stringify(this.json());
  }
}

/** Response headers, kept as the record `res.writeHead` takes, names as given (as Yoga writes them). */
class LeanHeaders {
  readonly record: Record<string, string> = {};

  constructor(init?: Record<string, string>) {
    Object.assign(this.record, init);
  }

  get(name: string): string | null {
    const key = this.keyOf(name);
    return key === undefined ? null : this.record[key]!;
  }

  has(name: string): boolean {
    return this.keyOf(name) !== undefined;
  }

  set(name: string, value: string): void {
    this.record[this.keyOf(name) ?? name.toLowerCase()] = value;
  }

  delete(name: string): void {
    const key = this.keyOf(name);
    if (key !== undefined) delete this.record[key];
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const name in this.record) callback(this.record[name]!, name.toLowerCase());
  }

  private keyOf(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const key in this.record) if (key.toLowerCase() === lower) return key;
    return undefined;
  }
}

/**
 * What Yoga's `processRegularResult` builds its answer into, in place of a fetch `Response`:
 * a string body, status and headers, with `content-length` as whatwg-node's `Response` sets it.
 */
class LeanResponse {
  readonly headers: LeanHeaders;
  readonly status: number;
  readonly statusText: string | undefined;

  constructor(
    readonly body: string | null,
    init: { status?: number; statusText?: string; headers?: Record<string, string> } = {},
  ) {
    if (body !== null && typeof body !== 'string') throw new TypeError('the lean path writes string bodies only');
    this.status = init.status ?? 200;
    this.statusText = init.statusText;
    this.headers = new LeanHeaders(init.headers);
    if (body !== null) this.headers.set('content-length', String(Buffer.byteLength(body)));
  }
}
