import { execute, parse, type ExecutionArgs } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { compilable, useCompiledExecution } from '../../src/graphql/execution.js';
import { schema } from '../../src/graphql/schema.js';
import { useApp } from '../helpers/app.js';
import { collect, wsClient } from '../helpers/clients.js';

// Every document compiled at its first use: each request here goes through graphql-jit.
const t = useApp({ GRAPHQL_COMPILE_AFTER: '0' });

/** The answer's body as sent: a key named `__proto__` would be lost to JSON.parse into an object literal comparison. */
async function rawAnswer(query: string, variables?: Record<string, unknown>, operationName?: string): Promise<string> {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables, operationName }),
  });
  return response.text();
}

const createdId = async (kind = 'k') => (await t.gql('mutation($kind: String!) { createTask(kind: $kind) { id } }', { kind })).data.createTask.id as string;

/** graphql-jit's marker for a Date in an argument literal: its generated code turns `"<marker><text>"` into `new Date(<text>)`. */
const JIT_DATE_MARKER = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';

declare global {
  var compiledExecutionProbe: number | undefined;
}

describe('when a document is compiled', () => {
  /** The plugin's execute, over graphql-js's own, which counts the operations it is handed. */
  function compiledExecute(compileAfter: number) {
    let engineRuns = 0;
    let run: ((args: ExecutionArgs) => unknown) | undefined;
    const onExecute = useCompiledExecution({ compileAfter }).onExecute as (payload: Parameters<NonNullable<Plugin['onExecute']>>[0]) => void;
    onExecute({
      executeFn: (args: ExecutionArgs) => {
        engineRuns++;
        return execute(args);
      },
      setExecuteFn: (fn: (args: ExecutionArgs) => unknown) => {
        run = fn;
      },
    } as Parameters<NonNullable<Plugin['onExecute']>>[0]);
    return { run: (args: ExecutionArgs) => run!(args), engineRuns: () => engineRuns };
  }

  it('at its second use by default: a document used once (an id in its text) runs on graphql-js and is never compiled', async () => {
    const { run, engineRuns } = compiledExecute(1);
    const document = parse('{ __typename }');
    const answers = [await run({ schema, document }), await run({ schema, document }), await run({ schema, document })];
    expect(answers).toEqual(Array(3).fill({ data: { __typename: 'Query' } }));
    expect(engineRuns()).toBe(1);
    expect(Object.hasOwn(answers[0] as object, 'stringify')).toBe(false);
    expect(Object.hasOwn(answers[1] as object, 'stringify')).toBe(true);
  });

  it('at its first use with compileAfter 0', async () => {
    const { run, engineRuns } = compiledExecute(0);
    expect(await run({ schema, document: parse('{ __typename }') })).toEqual({ data: { __typename: 'Query' } });
    expect(engineRuns()).toBe(0);
  });
});

describe('compiled execution', () => {
  afterEach(() => {
    delete globalThis.compiledExecutionProbe;
  });

  it('runs no code from a string literal, whatever it looks like to the compiler', async () => {
    const payload = `${JIT_DATE_MARKER}globalThis.compiledExecutionProbe=1`;
    const read = await t.gql(`{ task(id: ${JSON.stringify(payload)}) { id } }`);
    expect(read).toEqual({ status: 200, data: { task: null } });
    const created = await t.gql(`mutation { createTask(kind: "k", input: { note: ${JSON.stringify(payload)} }) { input } }`);
    expect(created.errors).toBeUndefined();
    expect(created.data.createTask.input).toEqual({ note: payload });
    expect(globalThis.compiledExecutionProbe).toBeUndefined();
  });

  it('keeps the variables inside a JSON literal', async () => {
    const { data, errors } = await t.gql('mutation($s: String!, $n: Int) { createTask(kind: "k", input: { s: $s, list: [$n, 2], deep: { s: $s } }) { input } }', {
      s: 'sent',
      n: 1,
    });
    expect(errors).toBeUndefined();
    expect(data.createTask.input).toEqual({ s: 'sent', list: [1, 2], deep: { s: 'sent' } });
  });

  it('keeps a JSON literal key named __proto__ as a key', async () => {
    const { data, errors } = await t.gql('mutation { createTask(kind: "k", input: { __proto__: { x: 1 }, y: 2 }) { id } }');
    expect(errors).toBeUndefined();
    const raw = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ task(id: ${JSON.stringify(data.createTask.id)}) { input } }` }),
    });
    expect(await raw.text()).toBe('{"data":{"task":{"input":{"__proto__":{"x":1},"y":2}}}}');
  });

  it('runs no code from an enum literal where JSON is expected (a name, taken as its text)', async () => {
    globalThis.compiledExecutionProbe = 12345;
    const name = `${JIT_DATE_MARKER}compiledExecutionProbe`;
    const { data, errors } = await t.gql(`mutation { createTask(kind: "k", input: ${name}) { input } }`);
    expect(errors).toBeUndefined();
    expect(data.createTask.input).toBe(name);
  });

  it('keeps a fragment wherever it is spread when one spread of it is skipped', async () => {
    const id = await createdId();
    const elsewhere = await t.gql('query($id: ID!) { a: task(id: $id) { ...F @include(if: false) } b: task(id: $id) { ...F } } fragment F on Task { id }', { id });
    expect(elsewhere).toEqual({ status: 200, data: { a: {}, b: { id } } });
    const twice = await t.gql('query($id: ID!) { task(id: $id) { ...F @skip(if: true) ...F } } fragment F on Task { id }', { id });
    expect(twice).toEqual({ status: 200, data: { task: { id } } });
  });

  it("keeps one operation's skipped fields out of another operation of the same document", async () => {
    const id = await createdId();
    const document = 'query A($id: ID!) { task(id: $id) { ...F @skip(if: true) } } query B($id: ID!) { task(id: $id) { ...F } } fragment F on Task { id }';
    expect(JSON.parse(await rawAnswer(document, { id }, 'A'))).toEqual({ data: { task: {} } });
    expect(JSON.parse(await rawAnswer(document, { id }, 'B'))).toEqual({ data: { task: { id } } });
  });

  it('refuses a null @skip condition, as graphql-js does, instead of skipping', async () => {
    const id = await createdId();
    const { data, errors } = await t.gql('query($id: ID!, $s: Boolean = false) { task(id: $id) @skip(if: $s) { id } }', { id, s: null });
    expect(data).toBeNull();
    expect(errors?.map(({ message }) => message)).toEqual(['Argument "if" of non-null type "Boolean!" must not be null.']);
  });

  it("gives a variable's default of 1e400 as Infinity, as graphql-js does", async () => {
    const id = await createdId();
    await t.gql('mutation($id: ID!) { cancelTask(id: $id) { id } }', { id });
    const { data, errors } = await t.gql('query($id: ID!, $timeout: Float = 1e400) { awaitTask(id: $id, timeout: $timeout) { id } }', { id });
    expect(data).toEqual({ awaitTask: null });
    expect(errors?.map(({ message, extensions }) => [message, extensions?.code])).toEqual([['timeout must be a finite number of seconds, 0 or more.', 'BAD_USER_INPUT']]);
  });

  it('refuses a null argument where non-null is expected in graphql-js words, not as an unexpected error', async () => {
    const { data, errors } = await t.gql('query($id: ID = "x") { task(id: $id) { id } }', { id: null });
    expect(data).toEqual({ task: null });
    expect(errors?.map(({ message }) => message)).toEqual(['Argument "id" of non-null type "ID!" must not be null.']);
  });

  it('refuses a null inside a list literal where the list takes no null, as graphql-js does', async () => {
    const { data, errors } = await t.gql('mutation($tag: String = "a") { createTask(kind: "null-tag", tags: [$tag]) { id } }', { tag: null });
    expect(data).toBeNull();
    expect(errors?.map(({ message }) => message)).toEqual(['Argument "tags" has invalid value [$tag].']);
    expect((await t.gql('{ tasks(kind: "null-tag") { edges { node { id } } } }')).data.tasks.edges).toEqual([]);
    const tagged = await t.gql('mutation($tag: String = "a") { createTask(kind: "k", tags: [$tag, "b"]) { tags } }');
    expect(tagged.data.createTask.tags).toEqual(['a', 'b']);
  });

  it('reads a variable named like a property of Object.prototype as any other', async () => {
    const absent = await t.gql('mutation($toString: JSON) { createTask(kind: "k", input: $toString) { input } }');
    expect(absent).toEqual({ status: 200, data: { createTask: { input: null } } });
    // Sent, it is lost on the way (graphql-js too), and graphql-js says so: not an unexpected error.
    const id = await createdId();
    const sent = JSON.parse(await rawAnswer('query($__proto__: ID!) { task(id: $__proto__) { id } }', JSON.parse(`{"__proto__": ${JSON.stringify(id)}}`)));
    expect(sent.data).toEqual({ task: null });
    expect(sent.errors.map(({ message }: { message: string }) => message)).toEqual([
      'Argument "id" of required type "ID!" was provided the variable "$__proto__" which was not provided a runtime value.',
    ]);
  });

  it('refuses an array where an input object is expected, as graphql-js does', async () => {
    await createdId();
    const { data, errors } = await t.gql('query($filter: TaskFilter) { taskChanges(filter: $filter) { changes { cursor } } }', { filter: [] });
    expect(data).toBeUndefined();
    expect(errors?.map(({ message, extensions }) => [message, extensions?.code])).toEqual([
      ['Variable "$filter" got invalid value []; Expected type "TaskFilter" to be an object.', 'BAD_USER_INPUT'],
    ]);
    const { data: filtered } = await t.gql('query($filter: TaskFilter) { taskChanges(filter: $filter) { changes { cursor } } }', { filter: { kinds: ['none'] } });
    expect(filtered).toEqual({ taskChanges: { changes: [] } });
  });

  it("locates an error as graphql-js does, whatever ends the document's lines", async () => {
    for (const lineEnd of ['\n', '\r\n', '\r']) {
      const { errors } = await t.gql(['{', '  t: task(id: "x") { id }', '  c: taskChanges(after: "bad") { cursor }', '}'].join(lineEnd));
      expect(errors?.map(({ locations }) => locations), JSON.stringify(lineEnd)).toEqual([[{ line: 3, column: 3 }]]);
    }
  });

  it('answers a response key named __proto__ as any other', async () => {
    const id = await createdId();
    expect(await rawAnswer('{ __proto__: __typename }')).toBe('{"data":{"__proto__":"Query"}}');
    expect(await rawAnswer('query($id: ID!) { task(id: $id) { __proto__: id constructor: status } }', { id })).toBe(
      `{"data":{"task":{"__proto__":${JSON.stringify(id)},"constructor":"QUEUED"}}}`,
    );
  });

  it('runs no mutation after one whose error nulls the whole answer', async () => {
    const refused = await t.gql('mutation { a: cancelTask(id: "unknown") { id } b: createTask(kind: "after-refusal") { id } }');
    expect(refused.data).toBeNull();
    expect(refused.errors?.map(({ extensions }) => extensions?.code)).toEqual(['NOT_FOUND']);
    const { data } = await t.gql('{ tasks(kind: "after-refusal") { edges { node { id } } } }');
    expect(data.tasks.edges).toEqual([]);
  });

  it("gives every subscription event graphql-js's variables (a non-null variable's default)", async () => {
    const id = await createdId();
    await t.gql('mutation($id: ID!) { cancelTask(id: $id) { id } }', { id });
    const client = wsClient(t.wsUrl);
    const results = await collect(client, `subscription($id: ID! = ${JSON.stringify(id)}) { taskUpdated(id: $id) { id status } }`).finished;
    expect(results).toEqual([{ data: { taskUpdated: { id, status: 'CANCELLED' } } }]);
    await client.dispose();
  });

  it('compiles the common documents, and only routes what graphql-jit would get wrong to graphql-js', () => {
    const compiles = (text: string) => compilable(schema, parse(text));
    for (const common of [
      '{ task(id: "x") { id status progress revision } }',
      'query($id: ID!) { task(id: $id) { id status progress revision } }',
      'mutation($kind: String!, $input: JSON) { createTask(kind: $kind, input: $input) { id } }',
      'mutation { createTask(kind: "k", input: "text", tags: ["a"]) { id } }',
      'mutation($kind: String!) { claimTask(kinds: ["a", $kind], workerId: "w") { id } }',
      'query($timeout: Float = 2.5) { awaitTask(id: "x", timeout: $timeout, afterRevision: 3) { id } }',
      'query($kinds: [String!], $after: String) { taskChanges(filter: { kinds: $kinds }, after: $after) { cursor } }',
      'subscription($id: ID!) { taskUpdated(id: $id) { id status progress revision done } }',
      'query($id: ID!) { task(id: $id) { ...F } } fragment F on Task { id status }',
    ]) {
      expect(compiles(common), common).toBe(true);
      expect(isCompiledQuery(compileQuery(schema, parse(common), undefined, { customJSONSerializer: true })), common).toBe(true);
    }
    for (const routed of [
      `{ task(id: "${JIT_DATE_MARKER}1") { id } }`,
      `mutation { createTask(kind: "k", input: ${JIT_DATE_MARKER}1) { id } }`,
      'mutation { createTask(kind: "k", input: { a: 1 }) { id } }',
      'mutation { createTask(kind: "k", input: [1]) { id } }',
      'query($timeout: Float = 1e400) { awaitTask(id: "x", timeout: $timeout) { id } }',
      'mutation($tag: String = "a") { createTask(kind: "k", tags: [$tag]) { id } }',
      '{ task(id: "x") { id @skip(if: false) } }',
      '{ task(id: "x") { id @include(if: true) } }',
      '{ __proto__: __typename }',
      'query($constructor: ID!) { task(id: $constructor) { id } }',
      'mutation { a: createTask(kind: "k") { id } b: createTask(kind: "k") { id } }',
      'mutation { ...M } fragment M on Mutation { createTask(kind: "k") { id } }',
    ]) {
      expect(compiles(routed), routed).toBe(false);
    }
  });
});
