import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../web/codegen.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATED_DIR = join(ROOT, 'web/src/gql');

describe('the dashboard\'s generated GraphQL types (web/src/gql)', () => {
  it('match what `npm run codegen` makes from schema/schema.graphql and the operations in web/src', async () => {
    // Same config, in memory (saveToFile: false): nothing is written.
    const outputs: { filename: string; content: string }[] = await generate({ ...config, cwd: ROOT, silent: true }, false);
    const expected = new Map(outputs.map((output) => [relative(GENERATED_DIR, resolve(ROOT, output.filename)), output.content]));
    expect([...expected.keys()].sort()).toEqual(['gql.ts', 'graphql.ts', 'index.ts']);

    const stale = 'web/src/gql is stale: run `npm run codegen` and commit the result';
    const onDisk = existsSync(GENERATED_DIR) ? readdirSync(GENERATED_DIR).sort() : [];
    expect(onDisk, stale).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) {
      expect(readFileSync(join(GENERATED_DIR, file), 'utf8'), `${stale} (${file} differs)`).toBe(content);
    }
  }, 60_000);

  it('cover every operation the dashboard sends', async () => {
    const graphql = readFileSync(join(GENERATED_DIR, 'graphql.ts'), 'utf8');
    for (const name of ['TasksDocument', 'TaskUpdatedDocument', 'AwaitTaskDocument', 'CreateTaskDocument', 'CancelTaskDocument']) {
      expect(graphql).toContain(`export const ${name} =`);
    }
  });
});
