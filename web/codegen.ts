import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations for the dashboard: `npm run codegen` reads the schema and every
 * `graphql(`…`)` call in web/src and writes web/src/gql/. Paths are relative to the
 * repository root (where npm runs scripts); test/web/codegen.test.ts fails while the
 * committed files are stale.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['web/src/**/*.{ts,tsx}', '!web/src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'web/src/gql/': {
      preset: 'client',
      presetConfig: {
        // Components read the fields they select; nothing to unmask.
        fragmentMasking: false,
      },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        // Apollo Client adds __typename to every selection set.
        nonOptionalTypename: true,
        skipTypeNameForRoot: true,
        avoidOptionals: { field: true, inputValue: false },
        defaultScalarType: 'unknown',
      },
    },
  },
};

export default config;
