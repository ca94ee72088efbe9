import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from './schema.js';

/** The committed SDL; `npm run schema` rewrites it and a test fails when it is stale. */
export const SCHEMA_FILE = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));

export const printSchemaSdl = (): string => `${printSchema(schema)}\n`;
