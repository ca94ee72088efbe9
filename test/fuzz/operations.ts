import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import { schema } from '../../src/graphql/schema.js';

/**
 * Random GraphQL operations built from the service's own schema: any root field, its
 * arguments as literals or variables (mostly of the right type, sometimes not, sometimes
 * missing), selections of the returned type with aliases, fragments, directives and the odd
 * unknown field, and the variables' values.
 *
 * Task ids are not known when a case is generated: an id is written as `taskRef(k)` and the
 * runner puts the k-th task of its pool in its place, so that writes meet real tasks.
 */
export interface Operation {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
}

/** How many task references a case may use; the runner maps `k` onto its pool. */
export const TASK_REFS = 8;
export const taskRef = (k: number) => `@task${k}@`;
export const TASK_REF_PATTERN = /@task(\d+)@/g;

/** Worker ids: the pool's running tasks are held by `w1`. */
const WORKERS = ['w1', 'w1', 'w2', ''];

type Draw = fc.GeneratorValue;

/** An operation and the response keys of its root fields (alias or name), in order. */
export interface RootedOperation {
  operation: Operation;
  rootKeys: string[];
}

export const rootedOperationArb: fc.Arbitrary<RootedOperation> = fc.gen().map((g) => new OperationBuilder(g).build());
export const operationArb: fc.Arbitrary<Operation> = rootedOperationArb.map(({ operation }) => operation);

/**
 * Builds one operation from draws of `g`. fast-check's generator caches every arbitrary it is
 * handed by its builder function and arguments, for ever: every draw here goes through a
 * builder defined once (and arguments compared by value), or the cache grows with each case.
 */
class OperationBuilder {
  private readonly variableDefinitions: string[] = [];
  private readonly variables: Record<string, unknown> = {};
  private readonly fragments: string[] = [];

  constructor(private readonly g: Draw) {}

  build(): RootedOperation {
    const kind = this.pick(['query', 'query', 'mutation', 'mutation', 'subscription'] as const);
    const root = kind === 'query' ? schema.getQueryType()! : kind === 'mutation' ? schema.getMutationType()! : schema.getSubscriptionType()!;
    const fields = Object.values(root.getFields());
    const count = this.int(1, kind === 'subscription' ? 2 : 3);
    const selections: string[] = [];
    const rootKeys: string[] = [];
    for (let i = 0; i < count; i++) {
      if (this.oneIn(30)) {
        selections.push('nope');
        rootKeys.push('nope');
        continue;
      }
      const field = this.pick(fields);
      const alias = count > 1 || this.coin() ? `f${i}` : null;
      rootKeys.push(alias ?? field.name);
      selections.push(`${alias ? `${alias}: ` : ''}${field.name}${this.argumentsOf(field)}${this.directives()}${this.selectionOf(field.type, 3)}`);
    }
    const name = this.oneIn(4) ? null : this.pick(['Op', 'Other']);
    const header = this.variableDefinitions.length > 0 || name ? `${kind} ${name ?? ''}(${this.variableDefinitions.join(', ')})` : kind;
    const query = [`${header.replace('()', '')} { ${selections.join(' ')} }`, ...this.fragments].join(' ');
    const operationName = this.oneIn(5) ? this.pick(['Op', 'Other', '']) : undefined;
    return { operation: { query, variables: this.variables, ...(operationName === undefined ? {} : { operationName }) }, rootKeys };
  }

  private int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  private coin(): boolean {
    return this.g(fc.boolean);
  }

  private oneIn(n: number): boolean {
    return this.int(0, n - 1) === 0;
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(0, list.length - 1)]!;
  }

  private argumentsOf(field: GraphQLField<unknown, unknown>): string {
    const written = field.args.flatMap((arg) => {
      const omit = !isNonNullType(arg.type) || this.oneIn(21);
      if (omit && this.coin()) return [];
      return [`${arg.name}: ${this.coin() ? this.variableFor(arg) : printLiteral(this.valueOf(arg.type), arg.type)}`];
    });
    if (this.oneIn(26)) written.push(`bogus: ${printLiteral(this.g(smallJson))}`);
    return written.length > 0 ? `(${written.join(', ')})` : '';
  }

  private variableFor(arg: GraphQLArgument): string {
    const name = `v${this.variableDefinitions.length}`;
    const type = this.oneIn(13) ? this.pick(['Int', 'String', 'ID!', '[String!]', 'JSON', 'Float!', 'Boolean', 'TaskStatus', 'Nope']) : String(arg.type);
    this.variableDefinitions.push(`$${name}: ${type}`);
    const value = this.oneIn(11) ? this.g(smallJson) : this.valueOf(arg.type);
    if (!this.oneIn(16)) this.variables[name] = value;
    return `$${name}`;
  }

  /** A value for an input type: mostly of that type, with the edges of its range. */
  private valueOf(type: GraphQLInputType): unknown {
    if (isNonNullType(type)) return this.oneIn(31) ? null : this.valueOf(type.ofType);
    if (isListType(type)) {
      if (this.oneIn(9)) return this.valueOf(type.ofType);
      return Array.from({ length: this.int(0, 3) }, () => this.valueOf(type.ofType));
    }
    if (isEnumType(type)) return this.pick([...type.getValues().map((value) => value.name), 'NOPE', 'queued']);
    const scalar = SCALARS[type.name as keyof typeof SCALARS];
    return scalar ? this.g(scalar) : this.g(smallJson);
  }

  private directives(): string {
    return this.pick(['', '', '', '', '', '', '', '', '', ' @include(if: true)', ' @skip(if: false)', ' @skip(if: true) @include(if: true)', ' @nope']);
  }

  /** A selection set for an output type (none for a leaf), `depth` levels deep at most. */
  private selectionOf(type: GraphQLOutputType, depth: number): string {
    const named = getNamedType(type);
    if (isScalarType(named) || isEnumType(named)) return this.oneIn(41) ? ' { id }' : '';
    if (!isObjectType(named)) return ' { __typename }';
    const fields = Object.values(named.getFields()).filter((field) => depth > 0 || isLeaf(field.type));
    const chosen = fields.filter(() => this.oneIn(3));
    const selections = chosen.map((field) => `${this.oneIn(9) ? 'x: ' : ''}${field.name}${this.selectionOf(field.type, depth - 1)}`);
    const extra = this.int(0, 10);
    if (extra === 0 || selections.length === 0) selections.push('__typename');
    if (extra === 1) selections.push('nope');
    if (extra === 2 && named.name === 'Task') selections.push(`... on Task { id revision }`);
    if (extra === 3 && named.name === 'Task') {
      const name = `F${this.fragments.length}`;
      this.fragments.push(`fragment ${name} on Task { id status progress done error { code message details } }`);
      selections.push(`...${name}`);
    }
    return ` { ${selections.join(' ')} }`;
  }
}

const isLeaf = (type: GraphQLOutputType) => {
  const named = getNamedType(type);
  return isScalarType(named) || isEnumType(named);
};

/** Strings with the awkward cases: empty, long, NUL, lone surrogates, any code point. */
const stringArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...WORKERS, 'report', 'x') },
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '\u0000', 'a\u0000b', '\ud800', '\udfff x', '\u{1F600}', 'x'.repeat(300), '"', '\\', '\n'),
);

/** JSON values: small ones, and nests at and around the depth limit. */
const jsonArb = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  fc.integer({ min: 60, max: 70 }).map((depth) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
    return value;
  }),
);

/** Builders of one arbitrary each, made once (see OperationBuilder), by scalar type. */
const SCALARS = {
  ID: () => idArb,
  String: () => stringArb,
  Int: () => intArb,
  Float: () => floatArb,
  Boolean: () => booleanArb,
  DateTime: () => dateTimeArb,
  JSON: () => jsonArb,
};
const idArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: TASK_REFS - 1 }).map(taskRef) }, fc.string({ maxLength: 30 }), fc.constant(''));
const intArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -2, max: 120 }) }, fc.constantFrom(0, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1e21, 1.5));
const floatArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 0.05, 0.1, 1, 30) }, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-1, 1e308, 5e-324, -0));
const booleanArb = fc.boolean();
const dateTimeArb = fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), fc.string({ maxLength: 30 }));
const smallJsonArb = fc.jsonValue({ maxDepth: 2 });
const smallJson = () => smallJsonArb;

/**
 * A JS value as a GraphQL literal: strings as JSON strings (their escapes are GraphQL's),
 * enum values bare, object keys made into names where they are not.
 */
export function printLiteral(value: unknown, type?: GraphQLInputType): string {
  if (value === null || value === undefined) return 'null';
  if (type && isNonNullType(type)) return printLiteral(value, type.ofType);
  if (Array.isArray(value)) return `[${value.map((item) => printLiteral(item, type && isListType(type) ? type.ofType : undefined)).join(', ')}]`;
  if (typeof value === 'string') return type && isEnumType(type) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'object') {
    const entries = Object.entries(value).map(([key, item], i) => `${/^[_A-Za-z][_0-9A-Za-z]*$/.test(key) ? key : `k${i}`}: ${printLiteral(item)}`);
    return `{${entries.join(', ')}}`;
  }
  return String(value);
}
