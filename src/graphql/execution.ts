import {
  BREAK,
  createSourceEventStream,
  execute as interpret,
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  OperationTypeNode,
  typeFromAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type EnumValueNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FloatValueNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type IntValueNode,
  type Source,
  type StringValueNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Runs an operation's selection on `rootValue` (a subscription's: on one event). */
export type ExecuteOn = (args: ExecutionArgs, rootValue: unknown) => Result;

/**
 * Operations executed by graphql-jit: each validated document is compiled once, on its first
 * execution, to a function that runs its selection (and checks its variables), and to a JSON
 * serializer for its answer. Queries, mutations and every subscription event run compiled;
 * subscriptions are shared (`createSharedSubscribe`).
 *
 * Compiled per document object, once it has run `compileAfter` times on graphql-js (1 by
 * default: compiled at its second use): Yoga's parse cache hands the same DocumentNode to every
 * request with the same text, so the compiled function is found by identity, with no printing
 * or hashing of the document per request. A document graphql-jit cannot compile, or must not
 * (`compilable`), runs on graphql-js, which then reports whatever stopped the compiler; so
 * does a request whose variables graphql-jit would read otherwise (`arraysForObjects`).
 *
 * The compiled serializer rides on the result as `stringify`, where Yoga's result processors
 * look for one, and `resultJson` (the lean HTTP route, graphql-ws) too.
 */
export function useCompiledExecution({ compileAfter }: { compileAfter: number }): Plugin {
  /** Per document and operation: compiled; null, never to be; or how many times it ran on graphql-js so far. */
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled | null | number>>();

  function compiledFor({ schema, document, operationName }: ExecutionArgs): Compiled | null {
    let byOperation = compiled.get(document);
    if (!byOperation) compiled.set(document, (byOperation = new Map()));
    const key = operationName ?? '';
    let entry: Compiled | null | number = byOperation.get(key) ?? 0;
    if (typeof entry === 'number' && entry < compileAfter) {
      // The first uses run on graphql-js: a document whose text changes with every request (an
      // id written into it) would otherwise cost a compilation each time.
      byOperation.set(key, entry + 1);
      return null;
    }
    if (typeof entry === 'number' && !compilable(schema, document)) byOperation.set(key, (entry = null));
    if (typeof entry === 'number') {
      // The compiled serializer knows graphql-js's own scalars only: with DateTime or JSON in
      // the selection, the answer is serialized by JSON.stringify.
      const compile = (customJSONSerializer: boolean) => compileQuery(schema, document, operationName ?? undefined, { customJSONSerializer });
      let made = compile(true);
      if (!isCompiledQuery(made)) made = compile(false);
      entry = isCompiledQuery(made) ? { query: made, misreads: arraysForObjects(schema, document, operationName) } : null;
      byOperation.set(key, entry);
    }
    return entry;
  }

  const runCompiled = (query: CompiledQuery, args: ExecutionArgs, rootValue: unknown): Result => {
    const result = query.query(rootValue, args.contextValue, args.variableValues);
    return result instanceof Promise ? result.then((done) => finished(done, query, args.document)) : finished(result, query, args.document);
  };
  /**
   * No data at all: graphql-jit refused the variables, and nothing ran. graphql-js decides
   * (`engine`): it reports them in its own words, or takes them where graphql-jit does not
   * (a default on a non-null variable: `$id: ID! = "…"` with no `id`).
   */
  const orEngine = (result: Result, engine: () => Result): Result => {
    const decided = (done: ExecutionResult) => ('data' in done ? done : engine());
    return result instanceof Promise ? result.then(decided) : decided(result);
  };
  const executeEvent: ExecuteOn = (args, event) => {
    const entry = compiledFor(args);
    const engine = () => interpret({ ...args, rootValue: event });
    return entry && !entry.misreads(args.variableValues) ? orEngine(runCompiled(entry.query, args, event), engine) : engine();
  };
  const subscribe = createSharedSubscribe(executeEvent);
  const subscribeShared = (args: ExecutionArgs) => subscribe(args, shareKeyOf(args));
  /** The engine's own execute (Yoga's), for what the compiler leaves: set by the first operation. */
  let engineExecute: (args: ExecutionArgs) => Result;
  const execute = (args: ExecutionArgs) => {
    const entry = compiledFor(args);
    const engine = () => engineExecute(args);
    return entry && !entry.misreads(args.variableValues) ? orEngine(runCompiled(entry.query, args, args.rootValue), engine) : engine();
  };

  return {
    onExecute: ({ executeFn, setExecuteFn }) => {
      engineExecute ??= executeFn as typeof engineExecute;
      setExecuteFn(execute as never);
    },
    onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(subscribeShared as never),
  };
}

/** A compiled operation, and which of its requests' variables graphql-jit would read otherwise than graphql-js (those run on graphql-js). */
interface Compiled {
  query: CompiledQuery;
  misreads: (variables: ExecutionArgs['variableValues']) => boolean;
}

/**
 * graphql-jit takes an array where an input object is expected (`filter: []`, read as `{}`),
 * where graphql-js refuses it. Whether a request's variables hold one: only the variables
 * whose type holds an input object are looked at, and most operations have none.
 */
function arraysForObjects(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): Compiled['misreads'] {
  const typed: [string, GraphQLInputType][] = [];
  for (const { variable, type } of getOperationAST(document, operationName)?.variableDefinitions ?? []) {
    const inputType = typeFromAST(schema, type);
    if (isInputType(inputType) && isInputObjectType(getNamedType(inputType))) typed.push([variable.name.value, inputType]);
  }
  if (typed.length === 0) return () => false;
  return (variables) => typed.some(([name, type]) => arrayForObject(type, variables?.[name]));
}

/** Whether `value`, given for `type`, holds an array where an input object is expected. */
function arrayForObject(type: GraphQLInputType, value: unknown): boolean {
  if (isNonNullType(type)) return arrayForObject(type.ofType, value);
  if (value === null || typeof value !== 'object') return false;
  if (isListType(type)) return Array.isArray(value) ? value.some((item) => arrayForObject(type.ofType, item)) : arrayForObject(type.ofType, value);
  if (!isInputObjectType(type)) return false;
  if (Array.isArray(value)) return true;
  return Object.values(type.getFields()).some((field) => Object.hasOwn(value, field.name) && arrayForObject(field.type, (value as Record<string, unknown>)[field.name]));
}

/** The prefix of the markers graphql-jit's generated code rewrites inside argument literals (`__MAGIC_DATE__…`, `__MAGIC_NAN__…`). */
const JIT_MARKER = '__MAGIC_';

/**
 * Whether graphql-jit gives this document graphql-js's meaning; the check runs once per
 * document, and a document it refuses runs on graphql-js. graphql-jit departs from graphql-js:
 * - It writes each argument literal into the generated code as JSON, and then rewrites its
 *   marker strings (a Date as `"__MAGIC_DATE__<uuid><ms>"` becomes `new Date(<ms>)`): a
 *   string that starts like a marker would become code. Such a string comes from a string
 *   literal, or from an enum literal where JSON is expected (a name, taken as its text).
 * - It parses a custom scalar's literal once, at compile time, without the variables:
 *   `input: { s: $s }` (JSON) would lose `s`, and a JSON object written as a JS object
 *   literal takes a `__proto__` key for its prototype.
 * - It writes a variable's default into its generated code as JSON, where `1e400` (Infinity)
 *   becomes null: `$t: Float = 1e400` gave `awaitTask` no timeout (30 s) where graphql-js
 *   gives Infinity, which the service refuses. A number literal too large for a double
 *   sends its document to graphql-js.
 * - A nullable variable with a default, where non-null is expected, may be sent as null.
 *   graphql-jit checks that only where the variable is an argument's whole value, with an
 *   error of its own that Yoga masks as unexpected; inside a list or object literal, the null
 *   passes (`tags: [$t]` with `$t: String = "a"` set to null reached the resolver as `[null]`).
 * - It compiles @skip and @include into conditions kept on the document's field nodes, which
 *   Yoga's parse cache shares: a fragment skipped in one place is skipped wherever it is
 *   spread, in this operation and in any other of the same document. A fragment spread twice,
 *   skipped once, is dropped (it counts the skipped spread as seen). And a null `if` (from a
 *   variable with a default) skips, where graphql-js refuses the operation.
 * - It builds each object as a JS object literal, in which a response key `__proto__` sets
 *   the prototype instead of a field.
 * - It reads and writes variables as properties of plain objects: a variable named like a
 *   property of Object.prototype (`$toString`, `$__proto__`) that the request leaves out
 *   reads that property (`$toString: JSON` gave `createTask` a function for its input), and
 *   one it sends may be lost (`$__proto__: ID!`).
 * - It runs every root field of a mutation, where graphql-js stops at the first one whose
 *   error nulls the whole answer: `mutation { a: cancelTask(id: "unknown") { id } b: createTask(…) }`
 *   created a task under an answer of `data: null`. A mutation runs compiled only when it
 *   selects one root field.
 */
export function compilable(schema: GraphQLSchema, document: DocumentNode): boolean {
  let safe = true;
  const refuse = () => {
    safe = false;
    return BREAK;
  };
  const typeInfo = new TypeInfo(schema);
  const refuseUnderScalar = (type: GraphQLInputType | null | undefined) => (isScalarType(getNullableType(type)) ? refuse() : undefined);
  const nullableVariables = new Set<string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const { variable, type } of definition.variableDefinitions ?? []) if (type.kind !== Kind.NON_NULL_TYPE) nullableVariables.add(variable.name.value);
  }
  const finite = (node: IntValueNode | FloatValueNode) => (Number.isFinite(Number(node.value)) ? undefined : refuse());
  const marker = (node: StringValueNode | EnumValueNode) => (node.value.includes(JIT_MARKER) ? refuse() : undefined);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      [Kind.STRING]: marker,
      [Kind.ENUM]: marker,
      [Kind.INT]: finite,
      [Kind.FLOAT]: finite,
      [Kind.OBJECT]: () => refuseUnderScalar(typeInfo.getInputType()),
      // Inside a list, the input type is its items': the list's own is its parent's.
      [Kind.LIST]: () => refuseUnderScalar(typeInfo.getParentInputType()),
      [Kind.VARIABLE]: (node) => (isNonNullType(typeInfo.getInputType()) && nullableVariables.has(node.name.value) ? refuse() : undefined),
      [Kind.DIRECTIVE]: (node) => (node.name.value === GraphQLSkipDirective.name || node.name.value === GraphQLIncludeDirective.name ? refuse() : undefined),
      [Kind.VARIABLE_DEFINITION]: ({ variable }) => (variable.name.value in Object.prototype ? refuse() : undefined),
      [Kind.FIELD]: (node) => (node.alias?.value === '__proto__' ? refuse() : undefined),
      [Kind.OPERATION_DEFINITION]: ({ operation, selectionSet: { selections } }) =>
        operation === OperationTypeNode.MUTATION && (selections.length !== 1 || selections[0]!.kind !== Kind.FIELD) ? refuse() : undefined,
    }),
  );
  return safe;
}

/**
 * A result of the compiled query as graphql-js would give it: graphql-jit's errors are of its
 * own making (no `extensions` unless the original error had some, no source nodes), which
 * Yoga's masking and status rules do not take for GraphQL errors; each becomes graphql-js's
 * GraphQLError with the same message, path, locations and original error. graphql-jit keeps
 * no original error where graphql-js has one: a null in a non-null field, a scalar's
 * serializer that throws ("Invalid time value"). Given one, they are masked and logged as
 * unexpected, as graphql-js's are, instead of showing the client their message. The compiled
 * serializer rides on the result, not enumerable (never sent).
 */
function finished(result: ExecutionResult, query: CompiledQuery, document: DocumentNode): ExecutionResult {
  const done = result.errors?.length ? { ...result, errors: result.errors.map((error) => asGraphQLJsError(error, document.loc?.source)) } : result;
  Object.defineProperty(done, 'stringify', { value: query.stringify, configurable: true });
  return done;
}

/** graphql-jit's error as graphql-js's, its locations given as positions in the document's source (as graphql-js keeps them). */
function asGraphQLJsError(error: GraphQLError, source: Source | undefined): GraphQLError {
  return new GraphQLError(error.message, {
    source,
    positions: source && error.locations?.map(({ line, column }) => positionOf(source.body, line, column)),
    path: error.path,
    originalError: error.originalError ?? new Error(error.message),
    extensions: error.extensions,
  });
}

/** The offset of a 1-based line and column in `body`, whose lines end where graphql-js's lexer ends them: at \r\n, \n or \r. */
function positionOf(body: string, line: number, column: number): number {
  const lineEnd = /\r\n|[\n\r]/g;
  for (let at = 1; at < line; at++) lineEnd.exec(body);
  return lineEnd.lastIndex + column - 1;
}

/** A result that may carry its own serializer (the compiled one; a shared event's, made once). */
type SelfSerializing = ExecutionResult & { stringify?: (value: unknown) => string };

/** A result as JSON: by its own `stringify` when it has one, else by JSON.stringify. */
export function resultJson(result: ExecutionResult): string {
  return ((result as SelfSerializing).stringify ?? JSON.stringify)(result);
}

/**
 * A shared result serializes itself once for all its subscribers: their transports ask the
 * result's `stringify` for its JSON (Yoga's SSE processor, and our graphql-ws binding), and all
 * but the first get the same text. By the compiled serializer where there is one; asked for
 * another value (Yoga's copy of a result with errors, without its internal extensions), it
 * serializes that value.
 */
function serializedOnce(result: ExecutionResult): ExecutionResult {
  const serialize = (result as SelfSerializing).stringify ?? JSON.stringify;
  let json: string | undefined;
  const stringify = (value: unknown) => (value === result ? (json ??= serialize(value)) : serialize(value));
  Object.defineProperty(result, 'stringify', { value: stringify, configurable: true });
  return result;
}

/** Subscribers whose results are the same for the same event: same operation, variables and caller. */
function shareKeyOf({ operationName, variableValues, contextValue }: ExecutionArgs): string {
  const { principal } = contextValue as GraphQLContext;
  return JSON.stringify([operationName ?? null, variableValues ?? null, principal.tenant, principal.role]);
}

/**
 * Subscriptions for fan-out: every subscriber of a task is handed the same published row, so
 * the result of executing one operation (same document, and same `shareKey`) on that row is
 * computed once and shared by all its subscribers, instead of once per socket. Envelop's
 * hooks (masking, logging) then see the shared result for each subscriber.
 */
export function createSharedSubscribe(executeOn: ExecuteOn) {
  const executions = new WeakMap<object, WeakMap<DocumentNode, Map<string, Result>>>();

  const executeShared = (args: ExecutionArgs, shareKey: string, event: object): Result => {
    let byDocument = executions.get(event);
    if (!byDocument) executions.set(event, (byDocument = new WeakMap()));
    let byKey = byDocument.get(args.document);
    if (!byKey) byDocument.set(args.document, (byKey = new Map()));
    let result = byKey.get(shareKey);
    if (!result) {
      const made = executeOn(args, event);
      byKey.set(shareKey, (result = made instanceof Promise ? made.then(serializedOnce) : serializedOnce(made)));
    }
    return result;
  };

  /** `shareKey` must tell apart everything the result depends on besides the document and the event. */
  return async (args: ExecutionArgs, shareKey: string) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    return mapAsyncIterator(source as AsyncIterableIterator<object>, (event) => executeShared(args, shareKey, event));
  };
}
