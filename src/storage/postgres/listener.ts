import pg from 'pg';
import type { TaskEvents } from '../../tasks/events.js';
import { TASK_EVENTS_CHANNEL, type OutputNotice, type TaskNotice } from './notices.js';
import type { PgTaskStore } from './store.js';

export interface CrossInstanceEventsOptions {
  /** A PostgreSQL URL; the listener holds one connection of its own, outside the pool. */
  url: string;
  /** This instance's id, as written into the notices it sends (those it skips). */
  origin: string;
  events: TaskEvents;
  store: Pick<PgTaskStore, 'getMany' | 'revisionsOf'>;
  /** Told of every lease another instance grants, so this one can expire it if that one dies. */
  onLease: (expiresAt: number) => void;
  /** How often the watched tasks are re-read, bounding how long a lost notice can leave one stale. */
  resyncIntervalMs: number;
  onError: (error: unknown, context: string) => void;
}

/** Ids per query when re-reading watched tasks. */
const BATCH = 1_000;
const RECONNECT_MIN_MS = 100;
/** The listening connection's `application_name`, as `pg_stat_activity` shows it. */
export const LISTENER_NAME = 'task-events-listener';
const RECONNECT_MAX_MS = 5_000;

/**
 * Brings other instances' writes to this instance's listeners. Every write NOTIFYs
 * `task_events` in its own transaction (see pg-store); here one connection LISTENs, and a
 * notice for a task that someone here watches has its row read and published locally. The
 * row, not the notice, is published: notices are small and only say what to re-read.
 *
 * Nothing stays stale for long if a notice is lost (say the connection dropped): after each
 * reconnect, and every `resyncIntervalMs`, the revisions of all watched tasks are compared
 * with what their listeners last got, and the changed rows are published; and the last
 * output seq of every task whose output is followed here is announced to its listeners.
 *
 * An output notice carries only the task and its new last seq: the listeners of that task's
 * output read what they miss from storage.
 */
export async function startCrossInstanceEvents(options: CrossInstanceEventsOptions) {
  const { url, origin, events, store, onLease, resyncIntervalMs, onError } = options;
  let client: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let reconnectDelay = RECONNECT_MIN_MS;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const toRead = new Set<string>();
  let reading: NodeJS.Immediate | null = null;

  function onNotice(payload: string | undefined): void {
    let notice: TaskNotice | OutputNotice;
    try {
      notice = JSON.parse(payload ?? '') as TaskNotice | OutputNotice;
    } catch (error) {
      return onError(error, 'task notice');
    }
    if (notice.origin === origin) return;
    // Output is announced by its seq only: the listeners here read the chunks from storage.
    if ('outputSeq' in notice) return events.publishOutput(notice.id, notice.outputSeq, null);
    if (notice.leaseExpiresAt !== null) onLease(notice.leaseExpiresAt);
    if (events.isWatched(notice.id)) read([notice.id]);
  }

  /** Reads these tasks' rows (together with any others asked for in this turn) and publishes them. */
  function read(ids: Iterable<string>): void {
    for (const id of ids) toRead.add(id);
    reading ??= setImmediate(() => {
      reading = null;
      const ids = [...toRead];
      toRead.clear();
      void publishRows(ids);
    });
  }

  async function publishRows(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += BATCH) {
      try {
        for (const task of await store.getMany(ids.slice(i, i + BATCH))) events.publish(task);
      } catch (error) {
        onError(error, 'reading notified tasks');
      }
    }
  }

  async function resync(): Promise<void> {
    const outputWatched = [...events.outputWatched()];
    for (let i = 0; i < outputWatched.length; i += BATCH) {
      for (const task of await store.getMany(outputWatched.slice(i, i + BATCH))) events.publishOutput(task.id, task.outputSeq, null);
    }
    const watched = [...events.watched()];
    for (let i = 0; i < watched.length; i += BATCH) {
      const batch = watched.slice(i, i + BATCH);
      const current = await store.revisionsOf(batch.map(([id]) => id));
      read(batch.filter(([id, revision]) => (current.get(id) ?? 0) > revision).map(([id]) => id));
    }
  }

  async function connect(): Promise<void> {
    const connection = new pg.Client({ connectionString: url, application_name: LISTENER_NAME });
    connection.on('notification', (message) => onNotice(message.payload));
    connection.on('error', (error) => {
      onError(error, 'task notice connection');
      dropped(connection);
    });
    connection.on('end', () => dropped(connection));
    client = connection;
    await connection.connect();
    await connection.query(`LISTEN ${TASK_EVENTS_CHANNEL}`);
    listening = true;
    reconnectDelay = RECONNECT_MIN_MS;
  }

  function dropped(connection: pg.Client): void {
    if (client !== connection) return;
    client = null;
    listening = false;
    connection.removeAllListeners('notification');
    void connection.end().catch(() => {});
    if (!closed) scheduleReconnect();
  }

  function scheduleReconnect(): void {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(async () => {
      try {
        await connect();
      } catch (error) {
        onError(error, 'task notice reconnect');
        if (client) dropped(client);
        return;
      }
      // Whatever was committed while nobody here listened.
      resync().catch((error) => onError(error, 'resync'));
    }, reconnectDelay).unref();
    reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  try {
    await connect();
  } catch (error) {
    // Nothing may outlive a start that failed: no reconnect timer, no half-open client.
    closed = true;
    clearTimeout(reconnectTimer);
    // (TypeScript cannot see that connect() set it.)
    const halfOpen = client as pg.Client | null;
    await halfOpen?.end().catch(() => {});
    throw error;
  }
  const resyncTimer = setInterval(() => {
    if (listening) resync().catch((error) => onError(error, 'resync'));
  }, resyncIntervalMs).unref();

  return {
    /** False while the notice connection is down (and being re-established). */
    isListening: () => listening,
    async close(): Promise<void> {
      closed = true;
      clearInterval(resyncTimer);
      clearTimeout(reconnectTimer);
      if (reading) clearImmediate(reading);
      const connection = client;
      client = null;
      listening = false;
      await connection?.end().catch(() => {});
    },
  };
}

export type CrossInstanceEvents = Awaited<ReturnType<typeof startCrossInstanceEvents>>;
