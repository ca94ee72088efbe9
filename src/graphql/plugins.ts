import { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule, type DocumentNode, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError, unauthenticated } from '../tasks/errors.js';
import type { Principal } from '../tasks/principal.js';
import type { GraphQLContext } from './context.js';
import { toGraphQLError, withoutSuggestions } from './errors.js';

/**
 * graphql-js reports a variable that does not coerce (a timeout of "abc", or 1e309, which JSON
 * reads as Infinity) with no `extensions.code`; clients are promised BAD_USER_INPUT.
 */
export function useVariableErrorCodes(): Plugin {
  // Made once, not per operation: envelop holds an operation's hooks until it ends (a held awaitTask).
  const label = ({ result }: { result: unknown }) => {
    if (!isAsyncIterable(result)) labelVariableErrors((result as ExecutionResult).errors ?? []);
  };
  const onExecuteHooks = { onExecuteDone: label };
  const onSubscribeHooks = { onSubscribeResult: label };
  return {
    onExecute: () => onExecuteHooks,
    onSubscribe: () => onSubscribeHooks,
  };
}

/** Gives graphql-js's variable coercion errors the code BAD_USER_INPUT. */
export function labelVariableErrors(errors: readonly GraphQLError[]): void {
  for (const error of errors) {
    if (error.extensions.code === undefined && error.message.startsWith('Variable "$')) {
      (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
    }
  }
}

/**
 * A POST whose content type no request parser reads: Yoga answers 415 with no body at all.
 * Every refusal on the endpoint carries a GraphQL error with a code, so this one does too.
 * Must come after the parsers (Yoga's own come before any plugin) and after CSRF prevention,
 * whose 403 is the answer for the types a browser can send without a preflight.
 */
export function useUnsupportedMediaTypeError(): Plugin {
  return {
    onRequestParse: ({ request, requestParser, endResponse, fetchAPI }) => {
      if (requestParser || request.method !== 'POST') return;
      const contentType = request.headers.get('content-type');
      const message = `The content type ${contentType === null ? '(none)' : JSON.stringify(contentType.slice(0, 100))} is not supported: send application/json.`;
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
          status: 415,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      );
    },
  };
}

/**
 * Every subscription stream ends when its operation's `signal` aborts (the client went away, or
 * completed it over graphql-ws), also when that happened while the stream was being set up.
 * Nothing else would end such a stream, and a change feed never ends by itself:
 * - over SSE, @whatwg-node/server drops the answer to a request whose client has gone
 *   (`sendNodeResponse` returns early on a closed response) without cancelling its body;
 * - graphql-ws's core knows a running operation by its id alone: when the client completes an
 *   operation while it starts and at once sends another under the same id, the core keeps one
 *   of the two streams and loses the other, which its socket's close then does not end either.
 */
export function useStreamsEndWithTheirClients(): Plugin {
  // Made once: the result hook gets the operation's args itself.
  const onSubscribeHooks = {
    onSubscribeResult: ({ result, args }: { result: unknown; args: { contextValue: unknown } }) => {
      const { signal } = args.contextValue as Partial<GraphQLContext>;
      if (!signal || !isAsyncIterable(result)) return;
      const stream = result[Symbol.asyncIterator]();
      const end = () => void stream.return?.();
      if (signal.aborted) end();
      else signal.addEventListener('abort', end, { once: true });
    },
  };
  return { onSubscribe: () => onSubscribeHooks };
}

/**
 * Server-Sent Events pass through buffering proxies: nginx (and proxies that follow it) hold a
 * response back until it is done unless told `X-Accel-Buffering: no`, and a stream held back
 * delivers nothing. Yoga already sends `Cache-Control: no-cache` and a keep-alive comment every
 * 12 s, inside the 30 to 60 s idle limits of common proxies and load balancers.
 */
export function useUnbufferedEventStreams(): Plugin {
  return {
    onResponse: ({ response }) => {
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) response.headers.set('x-accel-buffering', 'no');
    },
  };
}

/**
 * A subscription asked for in a media type that cannot stream it (plain JSON) has already
 * started when Yoga finds no way to send it: Yoga then answers 406 with no body and leaves the
 * stream registered until the task ends. Here the stream is ended at once and the 406 carries
 * a coded error. Must come after Yoga's own result processors (its plugins come first).
 */
export function useUnstreamableSubscriptionRefusal(): Plugin {
  const onResultProcess: NonNullable<Plugin['onResultProcess']> = ({ result, resultProcessor, setResultProcessor }) => {
    if (resultProcessor || !isAsyncIterable(result)) return;
    void result[Symbol.asyncIterator]().return?.();
    const body = JSON.stringify({
      errors: [
        {
          message: 'A subscription is streamed: ask for text/event-stream (Server-Sent Events) or use the WebSocket endpoint.',
          extensions: { code: 'NOT_ACCEPTABLE' },
        },
      ],
    });
    setResultProcessor(
      (_result, fetchAPI) =>
        new fetchAPI.Response(body, { status: 406, headers: { 'content-type': 'application/json; charset=utf-8' } }),
      'application/json',
    );
  };
  return { onResultProcess };
}

/**
 * Yoga's GET and form parsers read `variables` and `extensions` with a bare `JSON.parse`: text
 * that is not JSON escaped as a SyntaxError, which Yoga answered with 500 and logged as an
 * error. Refused instead as Yoga refuses a malformed JSON body: 400 BAD_REQUEST. Each parser
 * is wrapped once (not per request).
 */
export function useMalformedParamsRefusal(): Plugin {
  const wrapped = new WeakMap<RequestParser, RequestParser>();
  return {
    onRequestParse: ({ requestParser, setRequestParser }) => {
      if (!requestParser) return;
      let refusing = wrapped.get(requestParser);
      if (!refusing) wrapped.set(requestParser, (refusing = refusingSyntaxErrors(requestParser)));
      setRequestParser(refusing);
    },
  };
}

/** Yoga's `RequestParser`, which its package does not export. */
type RequestParser = Parameters<Parameters<NonNullable<Plugin['onRequestParse']>>[0]['setRequestParser']>[0];

function refusingSyntaxErrors(parse: RequestParser): RequestParser {
  const refuse = (error: unknown): never => {
    if (!(error instanceof SyntaxError)) throw error;
    throw new GraphQLError('The variables or extensions parameter is not valid JSON.', { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
  };
  return (request) => {
    try {
      const parsed = parse(request);
      return parsed instanceof Promise ? parsed.catch(refuse) : parsed;
    } catch (error) {
      return refuse(error);
    }
  };
}

/**
 * Brackets, braces and parentheses nested in one GraphQL document, at most. graphql-js's
 * parser recurses, and overflows the stack near 1,500 levels (an object literal); the token
 * limit keeps a document below that only while MAX_QUERY_TOKENS stays under about 3,000.
 * Far more than the selection depth limit and MAX_JSON_DEPTH let a valid operation use.
 * @default 256 // levels
 */
export const MAX_DOCUMENT_NESTING = 256;

/**
 * Refuses a document nested deeper than MAX_DOCUMENT_NESTING before graphql-js parses it,
 * with GRAPHQL_PARSE_FAILED (400) as for any syntax error. Must come after graphql-armor,
 * whose token limit sets a parse function of its own.
 */
export function useDocumentNestingLimit(): Plugin {
  return {
    onParse: ({ params: { source }, setParseFn }) => {
      const text = typeof source === 'string' ? source : source.body;
      // Nesting N levels takes at least N characters: most documents need no scan.
      if (text.length > MAX_DOCUMENT_NESTING && nestingExceeds(text, MAX_DOCUMENT_NESTING)) setParseFn(refuseTooDeep);
    },
  };
}

function refuseTooDeep(): never {
  throw new GraphQLError(`Syntax Error: the document nests brackets deeper than ${MAX_DOCUMENT_NESTING} levels.`, {
    extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
  });
}

/** Whether `{`, `[` and `(` nest deeper than `maxDepth` in a GraphQL document, strings and comments aside. */
function nestingExceeds(document: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < document.length; i++) {
    const char = document[i];
    if (char === '{' || char === '[' || char === '(') {
      if (++depth > maxDepth) return true;
    } else if (char === '}' || char === ']' || char === ')') {
      // Never below 0: closers out of place cannot hide the nesting that follows them.
      if (depth > 0) depth--;
    } else if (char === '#') {
      while (i < document.length && document[i] !== '\n' && document[i] !== '\r') i++;
    } else if (char === '"') {
      if (document.startsWith('""', i + 1)) {
        // A block string ends at the first """ not escaped as \""".
        let end = document.indexOf('"""', i + 3);
        while (end !== -1 && document[end - 1] === '\\') end = document.indexOf('"""', end + 3);
        if (end === -1) return false;
        i = end + 2;
      } else {
        for (i++; i < document.length && document[i] !== '"' && document[i] !== '\n'; i++) if (document[i] === '\\') i++;
      }
    }
  }
  return false;
}

/**
 * Authenticates a request over HTTP before its document is parsed or validated (Yoga's onParams
 * hooks run first), so that a caller without a valid key learns nothing of the schema from
 * parse or validation errors: it gets 401 UNAUTHENTICATED whatever it sent. The principal is
 * kept in `principals` for the context. (Over graphql-ws, no operation is read before a valid
 * `connection_init`.)
 */
export function useAuthenticationFirst(
  authenticate: (authorization: string | null) => Principal | null,
  principals: WeakMap<object, Principal>,
): Plugin {
  return {
    onParams: ({ request, setResult }) => {
      const principal = authenticate(request.headers.get('authorization'));
      if (principal) principals.set(request, principal);
      else setResult({ errors: [toGraphQLError(unauthenticated())] });
    },
  };
}

/**
 * Strips graphql-js's suggestions ("Did you mean …?") from validation errors, which Yoga hands
 * to clients without masking them, over HTTP, SSE and graphql-ws alike. Errors of execution
 * (variables that do not coerce, with their enum value suggestions) go through `maskError`,
 * which strips them there.
 */
export function useNoSuggestions(): Plugin {
  const strip = ({ valid, result }: { valid: boolean; result: readonly Error[] }) => {
    if (!valid) result.forEach(withoutSuggestions);
  };
  return {
    onValidate: () => strip,
  };
}

/** Rejects introspection queries (`INTROSPECTION=false`). */
export function useNoIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
  };
}

/**
 * Logs each error a resolver threw that is not a DomainError (the ones clients see only as
 * "Unexpected error."), with its request's id, operation and path, before Yoga masks it;
 * `logged` tells Yoga's logger not to log it a second time without them. A subscription's
 * events too: an event's result is shared by the operation's subscribers
 * (`createSharedSubscribe`), so its errors are logged once, not once per subscriber.
 */
export function useUnexpectedErrorLog(log: Logger, logged: WeakSet<object>): Plugin {
  const logUnexpected = (result: ExecutionResult, context: Partial<GraphQLContext>, operationName: string | null | undefined) => {
    for (const error of result.errors ?? []) {
      if (!error.originalError || error.originalError instanceof DomainError || 'extensions' in error.originalError || logged.has(error)) continue;
      logged.add(error);
      log.error({ err: error.originalError, reqId: context.trace?.id, operationName, path: error.path?.join('.') }, 'unexpected error in a resolver');
    }
  };
  // Made once: the done, result and next hooks get the operation's args themselves.
  type Done = { result: unknown; args: { contextValue: unknown; document: DocumentNode; operationName?: string | null } };
  const logFrom = ({ result, args }: Done) =>
    logUnexpected(result as ExecutionResult, args.contextValue as Partial<GraphQLContext>, args.operationName ?? getOperationAST(args.document)?.name?.value);
  const onEvents = { onNext: logFrom };
  const onExecuteHooks = { onExecuteDone: logFrom };
  const onSubscribeHooks = { onSubscribeResult: (done: Done) => (isAsyncIterable(done.result) ? onEvents : logFrom(done)) };
  return {
    onExecute: () => onExecuteHooks,
    onSubscribe: () => onSubscribeHooks,
  };
}
