/**
 * Peer: the fastest common Node GraphQL server, fastify + mercurius with graphql-jit (compiled
 * from the first request on), answering `task(id)` from a real SQLite read of the same
 * database file (DATABASE_URL) with a prepared statement. No authentication, masking, limits
 * or metrics: what the peer does for the same selection is the least GraphQL over HTTP costs.
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { listenAsBaseline } from '../lib/baseline.js';

const db = new Database(process.env.DATABASE_URL!, { readonly: true, fileMustExist: true });
const byId = db.prepare('SELECT id, status, progress, revision FROM tasks WHERE id = ?');

const schema = /* GraphQL */ `
  enum TaskStatus { QUEUED RUNNING COMPLETED FAILED CANCELLED }
  type Task { id: ID! status: TaskStatus! progress: Int! revision: Int! }
  type Query { task(id: ID!): Task }
`;

const app = Fastify({ logger: false });
await app.register(mercurius, {
  schema,
  resolvers: { Query: { task: (_root: unknown, { id }: { id: string }) => byId.get(id) ?? null } },
  jit: 1,
});
await app.ready();
app.server.keepAliveTimeout = 5_000;

listenAsBaseline(app.server);
