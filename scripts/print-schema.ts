import { writeFileSync } from 'node:fs';
import { printSchemaSdl, SCHEMA_FILE } from '../src/graphql/print.js';

writeFileSync(SCHEMA_FILE, printSchemaSdl());
console.log(`wrote ${SCHEMA_FILE}`);
