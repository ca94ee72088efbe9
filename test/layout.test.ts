import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The import graph points one way: the domain (src/tasks) imports nothing outside it; storage
 * only the domain; graphql the domain; http graphql and the domain; app.ts, main.ts and the
 * rest of the top sit above them all.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** What each folder of src/ may import, besides itself and packages. */
const MAY_IMPORT: Record<string, string[]> = {
  tasks: [],
  storage: ['tasks'],
  graphql: ['tasks'],
  http: ['graphql', 'tasks'],
  client: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path));
}

/** The folder of src/ a file is in ('' for the top). */
const folderOf = (file: string) => {
  const path = relative(SRC, file).split(/[\\/]/);
  return path.length > 1 ? path[0]! : '';
};

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g)].map((match) => resolve(dirname(file), match[1]!));
}

describe('the layout of src/', () => {
  it('each folder imports only what its layer may', () => {
    const crossings: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = folderOf(file);
      if (!(from in MAY_IMPORT)) continue;
      for (const target of relativeImports(file)) {
        const to = target.startsWith(SRC) ? folderOf(target) : 'outside src';
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) crossings.push(`${relative(SRC, file)} → ${to === '' ? relative(SRC, target) : to}`);
      }
    }
    expect(crossings).toEqual([]);
  });
});
