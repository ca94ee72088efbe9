import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSchemaSdl, SCHEMA_FILE } from '../../src/graphql/print.js';

describe('schema/schema.graphql', () => {
  it('matches the schema the code builds (run `npm run schema` after changing it)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printSchemaSdl());
  });

  it('has every name of the contract', () => {
    const sdl = printSchemaSdl();
    for (const line of [
      'task(id: ID!): Task',
      'awaitTask(',
      'tasks(status: TaskStatus, kind: String, tag: String, first: Int = 20, after: String): TaskConnection!',
      'createTask(kind: String!, input: JSON, idempotencyKey: String, maxAttempts: Int = 3, tags: [String!]): Task!',
      'tags: [String!]!',
      'claimTask(kinds: [String!], workerId: String!, leaseSeconds: Int = 30): Task',
      'heartbeat(id: ID!, workerId: String!, leaseSeconds: Int = 30): Task!',
      'reportProgress(id: ID!, progress: Int!, message: String, workerId: String): Task!',
      'completeTask(id: ID!, result: JSON, workerId: String): Task!',
      'failTask(id: ID!, message: String!, code: String, retry: Boolean = false, workerId: String): Task!',
      'cancelTask(id: ID!, reason: String): Task!',
      'taskUpdated(id: ID!, afterRevision: Int): Task!',
      'enum TaskStatus',
      'scalar DateTime',
      'scalar JSON',
    ]) {
      expect(sdl).toContain(line);
    }
  });
});
