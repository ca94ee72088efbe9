import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The import graph points one way: the domain (src/tasks) imports nothing outside it; storage
 * only the domain; graphql the domain; http graphql and the domain; the client nothing of ours.
 * At the top, log.ts imports nothing of ours, config.ts only the domain's types, demo.ts only
 * the client; app.ts wires everything below it, and main.ts runs it: nothing imports main.ts,
 * and only main.ts imports app.ts (tests aside). Outside src/, each folder may reach into src/
 * only where its rule says.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src') + sep;

/** The units of src/: a folder, or a file at the top. */
const BELOW_APP = ['tasks', 'storage', 'graphql', 'http', 'client', 'log.ts', 'config.ts', 'demo.ts'];

/** What each unit of src/ may import, besides itself and packages. */
const MAY_IMPORT: Record<string, string[]> = {
  tasks: [],
  storage: ['tasks'],
  graphql: ['tasks'],
  http: ['graphql', 'tasks'],
  client: [],
  'log.ts': [],
  'config.ts': ['tasks'],
  'demo.ts': ['client'],
  'app.ts': BELOW_APP,
  'main.ts': [...BELOW_APP, 'app.ts'],
};

/** Imports of these crossings must be `import type`: config.ts names the domain's types, never its code. */
const TYPES_ONLY: Record<string, string[]> = { 'config.ts': ['tasks'] };

/** What each folder outside src/ may import of src/ (its units, as above). */
const OUTSIDE_MAY_IMPORT: Record<string, string[]> = {
  web: ['client'],
  examples: ['client'],
  tooling: [],
  scripts: ['graphql'],
  bench: ['tasks', 'storage', 'demo.ts'],
};

const SOURCE = /\.(?:ts|tsx|mts)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => SOURCE.test(path) && !path.split(/[\\/]/).includes('node_modules'))
    .map((path) => join(dir, path));
}

/** The unit of src/ a file is in: its folder, or its own name at the top (imported as .js, named as .ts). */
const unitOf = (file: string) => relative(SRC, file).split(/[\\/]/)[0]!.replace(/\.js$/, '.ts');

interface Import {
  target: string;
  typeOnly: boolean;
}

/**
 * Every relative import and re-export: `import … from`, `export … from`, a side-effect
 * `import '…'` and a dynamic `import('…')`, in either quotes.
 */
const IMPORT =
  /\b(?:(?:import|export)\s+(type\s+)?([\w$*{},\s]*?)\s*from\s*|import\s*\(\s*|import\s+)(['"`])(\.{1,2}\/[^'"`]+)\3/g;

/** A clause that brings only types: `import type …`, or braces where each name says `type`. */
const typeOnly = (keyword: string | undefined, clause: string | undefined) =>
  keyword !== undefined ||
  (clause !== undefined && /^\{[^}]*\}$/.test(clause.trim()) && clause.trim().slice(1, -1).split(',').every((name) => name.trim() === '' || name.trim().startsWith('type ')));

function relativeImports(file: string, text = readFileSync(file, 'utf8')): Import[] {
  return [...text.matchAll(IMPORT)].map((match) => ({ target: resolve(dirname(file), match[4]!), typeOnly: typeOnly(match[1], match[2]) }));
}

function crossingsOf(files: string[], unitOfFile: (file: string) => string, rules: Record<string, string[]>): string[] {
  const crossings: string[] = [];
  for (const file of files) {
    const from = unitOfFile(file);
    const allowed = rules[from];
    if (!allowed) {
      crossings.push(`${relative(ROOT, file)}: no rule for ${from}`);
      continue;
    }
    for (const { target, typeOnly } of relativeImports(file)) {
      if (!target.startsWith(SRC)) continue;
      const to = unitOf(target);
      if (to === from) continue;
      if (!allowed.includes(to)) crossings.push(`${relative(ROOT, file)} → ${to}`);
      else if (TYPES_ONLY[from]?.includes(to) && !typeOnly) crossings.push(`${relative(ROOT, file)} → ${to} (types only)`);
    }
  }
  return crossings;
}

describe('the layout of src/', () => {
  it('each folder and top-level file imports only what its layer may', () => {
    expect(crossingsOf(sourceFiles(SRC), unitOf, MAY_IMPORT)).toEqual([]);
  });

  it('outside src/, web, examples, tooling, scripts and bench import only their part of it', () => {
    const files = Object.keys(OUTSIDE_MAY_IMPORT).flatMap((folder) => sourceFiles(join(ROOT, folder)));
    const folderOf = (file: string) => relative(ROOT, file).split(/[\\/]/)[0]!;
    expect(crossingsOf(files, folderOf, OUTSIDE_MAY_IMPORT)).toEqual([]);
  });

  it('sees every form of import: either quotes, side effects, re-exports, dynamic imports; and which bring only types', () => {
    const file = join(SRC, 'http', 'x.ts');
    const text = [
      `import { a } from "../tasks/a.js";`,
      `import '../storage/b.js';`,
      `export { c } from '../graphql/c.js';`,
      `export * from "../client/d.js";`,
      `const e = await import('../log.js');`,
      `import type { F } from '../config.js';`,
      `import {\n  type G,\n  type H,\n} from '../app.js';`,
      `import { type I, j } from '../main.js';`,
      `import k from 'a-package';`,
    ].join('\n');
    expect(relativeImports(file, text).map(({ target, typeOnly }) => [relative(SRC, target), typeOnly])).toEqual([
      [join('tasks', 'a.js'), false],
      [join('storage', 'b.js'), false],
      [join('graphql', 'c.js'), false],
      [join('client', 'd.js'), false],
      ['log.js', false],
      ['config.js', true],
      ['app.js', true],
      ['main.js', false],
    ]);
  });
});
