import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../web/codegen.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATED_DIR = join(ROOT, 'web/src/gql');
const OUTPUT_DIRS = Object.keys(config.generates);

describe('the generated GraphQL types (web/src/gql, src/client/gql)', () => {
  it('match what `npm run codegen` makes from schema/schema.graphql and the operations', async () => {
    // Same config, in memory (saveToFile: false): nothing is written.
    const outputs: { filename: string; content: string }[] = await generate({ ...config, cwd: ROOT, silent: true }, false);
    expect(OUTPUT_DIRS.sort()).toEqual(['src/client/gql/', 'web/src/gql/']);
    for (const outputDir of OUTPUT_DIRS) {
      const dir = join(ROOT, outputDir);
      const expected = new Map(
        outputs.filter((output) => resolve(ROOT, output.filename).startsWith(dir)).map((output) => [relative(dir, resolve(ROOT, output.filename)), output.content]),
      );
      expect([...expected.keys()].sort()).toEqual(['gql.ts', 'graphql.ts', 'index.ts']);
      const stale = `${outputDir} is stale: run \`npm run codegen\` and commit the result`;
      const onDisk = existsSync(dir) ? readdirSync(dir).sort() : [];
      expect(onDisk, stale).toEqual([...expected.keys()].sort());
      for (const [file, content] of expected) {
        expect(readFileSync(join(dir, file), 'utf8'), `${stale} (${file} differs)`).toBe(content);
      }
    }
  }, 60_000);

  it('cover every operation the dashboard sends', async () => {
    const graphql = readFileSync(join(GENERATED_DIR, 'graphql.ts'), 'utf8');
    for (const name of ['TasksDocument', 'TaskChangesDocument', 'AwaitTaskChangesDocument', 'CreateTaskDocument', 'CancelTaskDocument']) {
      expect(graphql).toContain(`export const ${name} =`);
    }
  });

  it('cover every operation followTask sends', () => {
    const graphql = readFileSync(join(ROOT, 'src/client/gql/graphql.ts'), 'utf8');
    for (const name of ['FollowTaskDocument', 'AwaitTaskDocument', 'FollowedTaskFragmentDoc']) {
      expect(graphql).toContain(`export const ${name} =`);
    }
  });
});
