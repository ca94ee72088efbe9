import { GraphQLError, parse, type ExecutionResult } from 'graphql';
import { createYoga, processRegularResult } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { encodeResult } from '../../src/http/graphql-http.js';
import { schema } from '../../src/graphql/schema.js';

/**
 * A canary for the lean GraphQL-over-HTTP route (src/http/graphql-http.ts), which answers as
 * Yoga's regular result processor does without going through Yoga's HTTP layer. If an upgrade
 * of graphql-yoga changes an answer the route copies, a test here fails and says what to
 * change; until it is changed, GRAPHQL_FAST_PATH=false sends every request through Yoga.
 */

const UPGRADE_NOTE = 'graphql-yoga now answers this differently from the lean route (src/http/graphql-http.ts, encodeResult): update the route, or run with GRAPHQL_FAST_PATH=false';

const source = parse('mutation { completeTask(id: "x", result: 1) { id } }').loc!.source;
const located = (message: string, extensions: Record<string, unknown>, originalError?: Error) =>
  new GraphQLError(message, { source, positions: [11], path: ['completeTask'], extensions, originalError });

const results: Record<string, ExecutionResult> = {
  'data only': { data: { task: { id: 't1', status: 'RUNNING' } } },
  'data with a compiled serializer': Object.defineProperty({ data: { task: { id: 't1' } } }, 'stringify', { value: () => '{"data":{"task":{"id":"compiled"}}}' }),
  'a field error (NOT_FOUND)': { data: null, errors: [located('No task with id "x".', { code: 'NOT_FOUND' })] },
  'a refusal with a status and Retry-After': {
    errors: [new GraphQLError('Too many requests.', { extensions: { code: 'RESOURCE_EXHAUSTED', http: { status: 429, headers: { 'retry-after': '3' } } } })],
  },
  'a refusal the spec answers 200 under JSON': { errors: [new GraphQLError('No task.', { extensions: { code: 'NOT_FOUND', http: { status: 404, spec: true } } })] },
  'a masked unexpected error, with data': { data: null, errors: [located('Unexpected error.', { code: 'INTERNAL_SERVER_ERROR', unexpected: true })] },
  'a masked unexpected error, without data': { errors: [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', unexpected: true } })] },
  'an error wrapping a plain one': { data: null, errors: [located('disk', { code: 'X' }, new Error('disk'))] },
  'a mutation over GET': {
    errors: [new GraphQLError('Can only perform a mutation operation from a POST request.', { extensions: { http: { status: 405, headers: { Allow: 'POST' } }, code: 'BAD_REQUEST' } })],
  },
};

describe("the lean route's answers are Yoga's regular result processor's", () => {
  const yoga = createYoga({ schema });
  for (const mediaType of ['application/json', 'application/graphql-response+json']) {
    for (const [name, result] of Object.entries(results)) {
      it(`${name}, as ${mediaType}`, async () => {
        const theirs = (await processRegularResult(result, yoga.fetchAPI, mediaType)) as Response;
        const ours = encodeResult(result, mediaType);
        const lowerCase = (headers: Iterable<[string, string]>) =>
          Object.fromEntries([...headers].map(([header, value]) => [header.toLowerCase(), value]).filter(([header]) => header !== 'content-length'));
        expect({ status: ours.status, headers: lowerCase(Object.entries(ours.headers)), body: ours.body }, UPGRADE_NOTE).toEqual({
          status: theirs.status,
          headers: lowerCase(theirs.headers as unknown as Iterable<[string, string]>),
          body: await theirs.text(),
        });
      });
    }
  }
});

describe('the Accept values the lean route takes pick the media type it answers in', () => {
  const yoga = createYoga({ schema, logging: false });
  for (const [accept, expected] of [
    [undefined, 'application/json'],
    ['*/*', 'application/json'],
    ['application/json', 'application/json'],
    ['application/graphql-response+json', 'application/graphql-response+json'],
  ] as const) {
    it(`Accept: ${accept ?? '(none)'}`, async () => {
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.headers.get('content-type'), UPGRADE_NOTE).toBe(`${expected}; charset=utf-8`);
      expect(encodeResult({ data: {} }, expected).headers['Content-Type']).toBe(`${expected}; charset=utf-8`);
    });
  }
});
