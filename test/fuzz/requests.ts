import fc from 'fast-check';
import { operationArb, rootedOperationArb, TASK_REFS, taskRef } from './operations.js';

/** The keys the fuzzed app is started with (API_KEYS): two tenants, every role. */
export const KEYS = { client: 'fz-client-key-0123456789', worker: 'fz-worker-key-0123456789', admin: 'fz-admin-key-0123456789', otherTenant: 'fz-other-key-0123456789' };
export const API_KEYS = `${KEYS.client}:t1:client,${KEYS.worker}:t1:worker,${KEYS.admin}:t1:admin,${KEYS.otherTenant}:t2:worker`;

/** One HTTP request as a client sends it: method, path with query string, headers, body bytes. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /**
   * The response keys of the root fields of the schema-built operation the request carries, if
   * it carries one whole: an answer with an error at each of them (path `[key]`) ran none.
   */
  rootKeys?: string[];
}

const encoder = new TextEncoder();

const authorizationArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.values(KEYS)).map((key) => `Bearer ${key}`) },
  fc.constantFrom('Bearer nope', 'Bearer', 'Basic Zm9vOmJhcg==', `bearer ${KEYS.worker}`, `Bearer ${KEYS.worker} extra`, ''),
);

const contentTypeArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/graphql+json',
    'application/graphql',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data',
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/xml',
    'application/octet-stream',
    'Application/JSON',
    'application/json, text/plain',
    'application/json ;x',
  ),
  fc.stringMatching(/^[a-z]{1,8}\/[a-z+.-]{1,12}$/),
);

const acceptArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  fc.constantFrom(
    'application/json',
    'application/graphql-response+json',
    'application/graphql-response+json, application/json;q=0.9',
    'text/event-stream',
    'multipart/mixed',
    'multipart/mixed; deferSpec=20220824',
    '*/*',
    'text/html',
    'image/png',
    'application/json;q=0',
  ),
);

/** Header names and values fetch accepts: visible ASCII, no separators in names. */
const extraHeadersArb = fc.dictionary(
  fc.oneof(fc.constantFrom('x-graphql-yoga-csrf', 'graphql-require-preflight', 'apollo-require-preflight', 'origin', 'x-request-id', 'access-control-request-method', 'cookie'), fc.stringMatching(/^x-[a-z0-9-]{1,10}$/)),
  fc.stringMatching(/^[\x21-\x7e ]{0,40}$/).map((value) => value.trim()),
  { maxKeys: 3 },
);

/** A well-formed GraphQL request body from a schema-built operation. */
const validBodyArb = operationArb.map((operation) => JSON.stringify(operation));

/** A body and, when it is a whole schema-built operation, its root fields' response keys. */
interface Body {
  body: string | Uint8Array;
  rootKeys?: string[];
}

/** Bytes of a valid body, then damaged: cut short, bytes flipped, inserted or removed. */
const damagedBodyArb = fc
  .tuple(
    validBodyArb,
    fc.array(
      fc.record({
        at: fc.nat(),
        how: fc.constantFrom('cut', 'flip', 'insert', 'remove'),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([body, edits]) => {
    let bytes = Array.from(encoder.encode(body));
    for (const { at, how, byte } of edits) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (how === 'cut') bytes = bytes.slice(0, i);
      else if (how === 'flip') bytes[i] = byte;
      else if (how === 'insert') bytes.splice(i, 0, byte);
      else bytes.splice(i, 1);
    }
    return Uint8Array.from(bytes);
  });

/** `[[[…]]]`, `{"a":…}` or a deep `variables` value, up to twice the body limit's worth of levels. */
const deepBodyArb = fc.tuple(fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('array', 'object', 'variables')).map(([levels, shape]) => {
  if (shape === 'array') return '['.repeat(levels) + ']'.repeat(levels);
  if (shape === 'object') return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
  return `{"query":"mutation($i: JSON) { createTask(kind: \\"deep\\", input: $i) { id } }","variables":{"i":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
});

/** A form body (`query=…&variables=…`), escapes sometimes not UTF-8. */
const formBodyArb = fc.tuple(operationArb, fc.boolean()).map(([operation, badEscape]) => {
  const form = new URLSearchParams({ query: operation.query, variables: JSON.stringify(operation.variables) }).toString();
  return badEscape ? form.replace('=', '=%FF%C3') : form;
});

const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  { weight: 8, arbitrary: rootedOperationArb.map(({ operation, rootKeys }) => ({ body: JSON.stringify(operation), rootKeys })) },
  { weight: 4, arbitrary: damagedBodyArb },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: deepBodyArb },
  { weight: 1, arbitrary: formBodyArb },
  { weight: 1, arbitrary: operationArb.map((operation) => operation.query) },
  { weight: 1, arbitrary: fc.constantFrom('', '{}', '[]', 'null', '"x"', '{"query":null}', '{"query":"{ __typename }","variables":"x"}', '{"query":"{ __typename }","extensions":[]}') },
).map((body) => (typeof body === 'string' || body instanceof Uint8Array ? { body } : body));

const graphqlPostArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    contentType: fc.option(contentTypeArb, { freq: 12 }),
    accept: acceptArb,
    authorization: fc.option(authorizationArb, { freq: 8 }),
    extra: extraHeadersArb,
    body: bodyArb,
    path: fc.oneof({ weight: 10, arbitrary: fc.constant('/graphql') }, fc.constantFrom('/graphql/', '/graphql?x=1', '/', '/nope', '/graphql?query={__typename}')),
  })
  .map(({ contentType, accept, authorization, extra, body: { body, rootKeys }, path }) => ({
    method: 'POST',
    path,
    headers: clean({ ...extra, 'content-type': contentType, accept, authorization }),
    body: typeof body === 'string' ? encoder.encode(body) : body,
    ...(rootKeys ? { rootKeys } : {}),
  }));

/** GraphQL over GET: the operation in the query string, variables sometimes not JSON. */
const graphqlGetArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    rooted: rootedOperationArb,
    variables: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.constantFrom('x', '[', '{"a":', 'null', '[]', '%FF')),
    accept: acceptArb,
    authorization: fc.option(authorizationArb, { freq: 8 }),
    extra: extraHeadersArb,
  })
  .map(({ rooted: { operation, rootKeys }, variables, accept, authorization, extra }) => {
    const params = new URLSearchParams({ query: operation.query });
    params.set('variables', variables ?? JSON.stringify(operation.variables));
    if (operation.operationName !== undefined) params.set('operationName', operation.operationName);
    return { method: 'GET', path: `/graphql?${params}`, headers: clean({ ...extra, accept, authorization }), ...(variables === undefined ? { rootKeys } : {}) };
  });

/** The REST polling endpoints with odd ids, timeouts and revisions. */
const restArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    id: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: TASK_REFS - 1 }).map(taskRef) }, fc.string({ maxLength: 30 }).map(encodeURIComponent), fc.constantFrom('', '%00', '..', '%2F', 'x/y', '%FF')),
    wait: fc.boolean(),
    timeout: fc.option(fc.oneof(fc.constantFrom('0', '0.05', '-1', 'NaN', 'Infinity', '1e309', '30', 'abc', '', '99999999999'), fc.double().map(String)), { freq: 2 }),
    afterRevision: fc.option(fc.oneof(fc.integer({ min: -1, max: 10 }).map(String), fc.constantFrom('x', '1.5', '1e400')), { freq: 3 }),
    method: fc.oneof({ weight: 8, arbitrary: fc.constant('GET') }, fc.constantFrom('POST', 'DELETE', 'HEAD', 'OPTIONS', 'PUT')),
    authorization: fc.option(authorizationArb, { freq: 8 }),
  })
  .map(({ id, wait, timeout, afterRevision, method, authorization }) => {
    const query = [timeout !== null ? `timeout=${encodeURIComponent(timeout)}` : '', afterRevision !== null ? `after_revision=${afterRevision}` : ''].filter(Boolean).join('&');
    return { method, path: `/api/queue/poll/${id}${wait ? '/wait' : ''}${query ? `?${query}` : ''}`, headers: clean({ authorization }) };
  });

/** Other methods and routes: PUT /graphql, OPTIONS preflights, the dashboard, health, metrics. */
const otherArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'GET'),
    path: fc.constantFrom('/graphql', '/healthz', '/readyz', '/', '/index.html', '/assets/../../package.json', '/%2e%2e/package.json', '/nope'),
    origin: fc.option(fc.constantFrom('https://evil.example', 'http://localhost:5173', 'null')),
    body: fc.option(fc.uint8Array({ maxLength: 50 })),
  })
  .map(({ method, path, origin, body }) => ({
    method,
    path,
    headers: clean({ origin: origin ?? undefined, 'access-control-request-method': method === 'OPTIONS' ? 'POST' : undefined }),
    ...(body && !['GET', 'HEAD'].includes(method) ? { body } : {}),
  }));

export const requestArb: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 10, arbitrary: graphqlPostArb },
  { weight: 3, arbitrary: graphqlGetArb },
  { weight: 2, arbitrary: restArb },
  { weight: 1, arbitrary: otherArb },
);


function clean(headers: Record<string, string | null | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== null));
}
