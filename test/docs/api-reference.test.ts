import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  astFromValue,
  buildSchema,
  isEnumType,
  isInputObjectType,
  isIntrospectionType,
  isObjectType,
  isScalarType,
  print,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const schema = buildSchema(readFileSync(resolve(ROOT, 'schema/schema.graphql'), 'utf8'));
const API_MD = 'docs/api.md';
const reference = parseMarkdown(readFileSync(resolve(ROOT, API_MD), 'utf8'));

/**
 * docs/api.md against schema/schema.graphql. The rule, in both directions (a name the schema
 * lacks is stale documentation and fails too):
 *
 * - every root type (`Query`, `Mutation`, `Subscription`) has a section whose heading holds
 *   its name as a code span, with a table in which each root field opens a row whose first
 *   cell starts with the field as a code span (`task(id)`, `createTask`) and ends with
 *   `→ <return type>`; each argument of that field has a row (the field's own, or the
 *   continuation rows below it with an empty first cell) whose next three cells are the
 *   argument as a code span, its type as a code span and, when the schema gives it a default,
 *   that default as a code span;
 * - every other object type and every enum has a section whose heading is its name as a code
 *   span, with a table listing each field (name, then type, as code spans) or each enum value
 *   (as a code span) in its first column;
 * - so has every input type, its table listing each field (name, then type, as code spans)
 *   and, when the schema gives the field a default, that default as a code span in the
 *   table's `default` column;
 * - every scalar, built-in ones included, is a row of the table under the heading "Scalars".
 */
describe('docs/api.md documents the whole schema', () => {
  const types = Object.values(schema.getTypeMap()).filter((type) => !isIntrospectionType(type));
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(
    (type): type is GraphQLObjectType => type != null,
  );
  const rootNames = new Set(roots.map((type) => type.name));

  it.each(roots.map((type) => [type.name, type] as const))('root type %s: every field and argument', (_, type) => {
    const documented = rootFieldsOf(sectionNamed(type.name));
    expect([...documented.keys()].sort(), `root fields of ${type.name}`).toEqual(Object.keys(type.getFields()).sort());
    for (const field of Object.values(type.getFields())) {
      const doc = documented.get(field.name)!;
      expect(doc.returns, `the type ${field.name} returns`).toBe(String(field.type));
      expect(doc.args.map((arg) => arg.name).sort(), `arguments of ${field.name}`).toEqual(field.args.map((arg) => arg.name).sort());
      for (const arg of field.args) {
        const row = doc.args.find((candidate) => candidate.name === arg.name)!;
        expect(row.type, `type of ${field.name}(${arg.name})`).toBe(String(arg.type));
        if (arg.defaultValue !== undefined) {
          expect(row.default, `default of ${field.name}(${arg.name})`).toBe(print(astFromValue(arg.defaultValue, arg.type)!));
        }
      }
    }
  });

  it.each(types.filter((type) => isObjectType(type) && !rootNames.has(type.name)).map((type) => [type.name, type] as const))(
    'object type %s: every field with its type',
    (_, type) => {
      const rows = tableRowsOf(sectionNamed(`\`${type.name}\``, { exact: true }));
      const documented = new Map(rows.map((cells) => [codeSpan(cells[0]), codeSpan(cells[1])]));
      const fields = Object.values((type as GraphQLObjectType).getFields()) as GraphQLField<unknown, unknown>[];
      expect([...documented.keys()].sort(), `fields of ${type.name}`).toEqual(fields.map((field) => field.name).sort());
      for (const field of fields) expect(documented.get(field.name), `type of ${type.name}.${field.name}`).toBe(String(field.type));
    },
  );

  it.each(types.filter(isInputObjectType).map((type) => [type.name, type] as const))('input type %s: every field with its type and default', (_, type) => {
    const section = sectionNamed(`\`${type.name}\``, { exact: true });
    const documented = new Map(tableRowsOf(section).map((cells) => [codeSpan(cells[0]), cells]));
    const fields = Object.values(type.getFields());
    expect([...documented.keys()].sort(), `fields of ${type.name}`).toEqual(fields.map((field) => field.name).sort());
    const defaultColumn = tableHeaderOf(section).indexOf('default');
    for (const field of fields) {
      const cells = documented.get(field.name)!;
      expect(codeSpan(cells[1]), `type of ${type.name}.${field.name}`).toBe(String(field.type));
      if (field.defaultValue !== undefined) {
        expect(defaultColumn, `a "default" column in the table of ${type.name}`).toBeGreaterThan(1);
        expect(codeSpan(cells[defaultColumn]), `default of ${type.name}.${field.name}`).toBe(print(astFromValue(field.defaultValue, field.type)!));
      }
    }
  });

  it.each(types.filter(isEnumType).map((type) => [type.name, type] as const))('enum %s: every value', (_, type) => {
    const rows = tableRowsOf(sectionNamed(`\`${type.name}\``, { exact: true }));
    expect(rows.map((cells) => codeSpan(cells[0])).sort()).toEqual(type.getValues().map((value) => value.name).sort());
  });

  it('every scalar is a row under "Scalars"', () => {
    const rows = tableRowsOf(sectionNamed('Scalars', { exact: true }));
    expect(rows.map((cells) => codeSpan(cells[0])).sort()).toEqual(
      types
        .filter(isScalarType)
        .map((type) => type.name)
        .sort(),
    );
  });
});

describe('the README and docs/api.md stand on their own', () => {
  const readme = parseMarkdown(readFileSync(resolve(ROOT, 'README.md'), 'utf8'));

  it('the README links to docs/api.md', () => {
    expect(readme.links).toContain('docs/api.md');
  });

  it.each([
    ['README.md', readme],
    [API_MD, reference],
  ])('%s: every link stays inside the repository and leads somewhere', (file, doc) => {
    for (const link of doc.links) {
      if (/^https?:\/\//.test(link)) continue;
      expect(link, `${file}: ${link}`).not.toMatch(/^[a-z][a-z+.-]*:|^\//i);
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? resolve(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
      expect(relative(ROOT, target).startsWith('..'), `${file}: ${link} leaves the repository`).toBe(false);
      expect(existsSync(target), `${file}: ${link} leads to no file`).toBe(true);
      if (anchor !== undefined) {
        const headings = target === resolve(ROOT, file) ? doc.anchors : parseMarkdown(readFileSync(target, 'utf8')).anchors;
        expect(headings, `${file}: ${link} leads to no heading`).toContain(anchor);
      }
    }
  });

  it.each([
    ['README.md', readme],
    [API_MD, reference],
  ])('%s names no path of this machine', (_, doc) => {
    const parent = dirname(ROOT);
    expect(doc.text).not.toContain(ROOT);
    if (parent !== dirname(parent)) expect(doc.text).not.toContain(`${parent}/`);
  });
});

interface Section {
  heading: string;
  lines: string[];
}

interface RootField {
  returns: string;
  args: { name: string; type: string; default: string }[];
}

/** Sections by heading (fenced code skipped), link targets, and GitHub's anchors for the headings. */
function parseMarkdown(text: string) {
  const sections: Section[] = [];
  const anchors: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading) {
      sections.push({ heading: heading[1]!, lines: [] });
      anchors.push(uniqueAnchor(anchors, githubSlug(heading[1]!)));
    } else if (!fenced) {
      sections.at(-1)?.lines.push(line);
    }
  }
  const links = [...text.matchAll(/\]\(([^)\s]+)\)|\bsrc="([^"]+)"|<((?:https?|file):[^>]+)>/g)].map(
    (match) => (match[1] ?? match[2] ?? match[3])!,
  );
  return { text, sections, anchors, links };
}

/** GitHub's heading anchors: lower case, punctuation dropped (but `-` and `_`), spaces to `-`. */
function githubSlug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function uniqueAnchor(taken: string[], slug: string): string {
  let candidate = slug;
  for (let n = 1; taken.includes(candidate); n++) candidate = `${slug}-${n}`;
  return candidate;
}

/** The section of docs/api.md whose heading is `name` (`exact`) or holds it as a code span. */
function sectionNamed(name: string, { exact = false } = {}): Section {
  const found = reference.sections.filter((section) =>
    exact ? section.heading === name : section.heading.includes(`\`${name}\``),
  );
  expect(found.map((section) => section.heading), `one heading for ${name} in ${API_MD}`).toHaveLength(1);
  return found[0]!;
}

/** The cells of the header row of a section's first table. */
function tableHeaderOf(section: Section): string[] {
  const header = section.lines.find((line, index) => line.startsWith('|') && isSeparator(section.lines[index + 1]));
  return header?.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()) ?? [];
}

const isSeparator = (line: string | undefined) => line !== undefined && /^\|(\s*:?-+:?\s*\|)+$/.test(line);

/** The body rows of a section's tables, split into trimmed cells at unescaped pipes (header and separator rows dropped). */
function tableRowsOf(section: Section): string[][] {
  return section.lines
    .filter((line, index, lines) => line.startsWith('|') && !isSeparator(line) && !isSeparator(lines[index + 1]))
    .map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
}

/** The cell's text when it is exactly one code span, else the cell as it is (so that it cannot match a name). */
function codeSpan(cell: string | undefined): string | undefined {
  return /^`([^`]+)`$/.exec(cell ?? '')?.[1] ?? cell;
}

/** The root fields a section's table documents: `field(args…)` → `Type` rows and their argument rows. */
function rootFieldsOf(section: Section): Map<string, RootField> {
  const fields = new Map<string, RootField>();
  let current: RootField | undefined;
  for (const [first = '', arg = '', type = '', defaultValue = ''] of tableRowsOf(section)) {
    if (first !== '') {
      const opening = /^`([A-Za-z_]\w*)(?:\([^`]*\))?` → `([^`]+)`$/.exec(first);
      expect(opening, `a root field row in "${section.heading}": ${first}`).not.toBeNull();
      current = { returns: opening![2]!, args: [] };
      expect(fields.has(opening![1]!), `${opening![1]} documented twice`).toBe(false);
      fields.set(opening![1]!, current);
    }
    if (arg !== '') {
      current!.args.push({ name: codeSpan(arg)!, type: codeSpan(type)!, default: codeSpan(defaultValue)! });
    }
  }
  return fields;
}
