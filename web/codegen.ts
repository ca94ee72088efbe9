import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations: `npm run codegen` reads the schema and every `graphql(`…`)` call in
 * web/src (the dashboard) and src/client (followTask), and writes web/src/gql/ and
 * src/client/gql/. Paths are relative to the repository root (where npm runs scripts);
 * test/web/codegen.test.ts fails while the committed files are stale.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  ignoreNoDocuments: false,
  // Relative imports with .js extensions, as Node's ESM resolution (src/client) needs.
  emitLegacyCommonJSImports: false,
  generates: {
    'src/client/gql/': {
      documents: ['src/client/**/*.ts', '!src/client/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // followTask sends the text over fetch and graphql-ws: typed strings, no graphql-tag.
        documentMode: 'string',
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypeNameForRoot: true,
        avoidOptionals: { field: true, inputValue: false },
        defaultScalarType: 'unknown',
      },
    },
    'web/src/gql/': {
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/gql/**'],
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
