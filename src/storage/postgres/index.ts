import { randomBytes } from 'node:crypto';
import type { Storage, StorageWarning } from '../index.js';
import { openPg, type PgClient } from './connection.js';
import { startCrossInstanceEvents, type CrossInstanceEvents } from './listener.js';
import { createPgTaskStore } from './store.js';

export interface PostgresOptions {
  /** `postgres://…` */
  url: string;
  poolSize: number;
  /** How often the listener re-reads the watched tasks, in ms. */
  eventResyncMs: number;
  /** The name this instance writes into its notices. @default random */
  origin?: string;
  onWarning?: StorageWarning;
}

/** PostgreSQL storage, with the listener that tests of cross-instance events reach into. */
export interface PostgresStorage extends Storage {
  database: PgClient;
  listener(): CrossInstanceEvents | null;
}

export async function openPostgresStorage({
  url,
  poolSize,
  eventResyncMs,
  origin = randomBytes(8).toString('hex'),
  onWarning = () => {},
}: PostgresOptions): Promise<PostgresStorage> {
  const database = await openPg({ url, maxConnections: poolSize });
  const store = createPgTaskStore(database.db, { origin });
  let listener: CrossInstanceEvents | null = null;
  let closed: Promise<void> | null = null;
  return {
    engine: 'postgres',
    store,
    database,
    listener: () => listener,
    async start(events, onLease) {
      if (listener || closed) return;
      listener = await startCrossInstanceEvents({
        url,
        origin,
        events,
        store,
        onLease,
        resyncIntervalMs: eventResyncMs,
        onError: (error, context) => onWarning('cross-instance events', { err: error, context }),
      });
    },
    isReady: async () => (listener?.isListening() ?? true) && (await database.isReady()),
    gauges: [],
    close() {
      closed ??= (async () => {
        await listener?.close();
        await database.close();
      })();
      return closed;
    },
  };
}
