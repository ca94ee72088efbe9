import { useApolloClient, useSubscription } from '@apollo/client/react';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { OutputFieldsFragment } from './gql/graphql';
import { followByLongPolling, followOutputByLongPolling } from './longPoll';
import { LongPollPool } from './longPollPool';
import { TASK_OUTPUT, TASK_UPDATED } from './operations';
import type { Transport, TransportMode } from './transport';

interface Live {
  transport: Transport;
  pool: LongPollPool;
}

const LiveContext = createContext<Live | null>(null);

export function LiveProvider({ transport, children }: { transport: Transport; children: ReactNode }) {
  const [pool] = useState(() => new LongPollPool());
  return <LiveContext.Provider value={{ transport, pool }}>{children}</LiveContext.Provider>;
}

function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive needs a <LiveProvider>');
  return live;
}

/** The page's transport, re-rendering when it changes. */
export function useTransport(): { mode: TransportMode; reason: string | undefined } {
  const { transport } = useLive();
  const mode = useSyncExternalStore(transport.subscribe, transport.getMode);
  return { mode, reason: transport.getReason() };
}

export type FollowState = TransportMode | 'final';

/**
 * Keeps one task current while it is on screen and not final: a `taskUpdated` subscription
 * over the WebSocket, or an awaitTask long-poll loop when the page fell back to HTTP. The
 * updates are not returned: they land in Apollo's cache, and every view of the task
 * re-renders from there.
 */
export function useFollowTask(task: { id: string; revision: number; done: boolean }): FollowState {
  const { pool } = useLive();
  const { mode } = useTransport();
  const client = useApolloClient();
  // Where the subscription starts: fixed for the life of the card, so that a new revision
  // does not resubscribe (the server sends the current state first if it is newer anyway).
  const [fromRevision] = useState(task.revision);
  const latestRevision = useRef(task.revision);
  useEffect(() => {
    latestRevision.current = task.revision;
  });

  const following = !task.done;
  useSubscription(TASK_UPDATED, {
    variables: { id: task.id, afterRevision: fromRevision },
    skip: !following || mode !== 'websocket',
    ignoreResults: true,
  });

  useEffect(() => {
    if (!following || mode !== 'long-polling') return;
    const controller = new AbortController();
    void followByLongPolling({ client, pool, id: task.id, revision: latestRevision.current, signal: controller.signal });
    return () => controller.abort();
  }, [client, pool, task.id, following, mode]);

  return task.done ? 'final' : mode;
}

/** Most output chunks a card keeps on screen: the oldest go first. */
export const MAX_OUTPUT_CHUNKS = 2_000;

/**
 * A task's output while `active` (its log is open): a `taskOutput` subscription over the
 * WebSocket, or an awaitTaskOutput long-poll loop when the page fell back to HTTP. Either
 * starts after the last seq received, and chunks at or below it are dropped, so a reconnect
 * or a switch of transport shows no line twice and skips none.
 */
export function useTaskOutput(id: string, active: boolean): OutputFieldsFragment[] {
  const { pool } = useLive();
  const { mode } = useTransport();
  const client = useApolloClient();
  const [chunks, setChunks] = useState<OutputFieldsFragment[]>([]);
  const last = useRef(0);
  const add = useCallback((incoming: readonly OutputFieldsFragment[]) => {
    const fresh = incoming.filter((chunk) => chunk.seq > last.current);
    if (fresh.length === 0) return;
    last.current = fresh.at(-1)!.seq;
    setChunks((shown) => [...shown, ...fresh].slice(-MAX_OUTPUT_CHUNKS));
  }, []);
  // Where a (re)started subscription begins: the last seq received when the log opens or the
  // transport changes (not on every chunk, which would resubscribe each time).
  const after = useMemo(() => last.current, [active, mode]);

  useSubscription(TASK_OUTPUT, {
    variables: { id, after },
    skip: !active || mode !== 'websocket',
    fetchPolicy: 'no-cache',
    onData: ({ data }) => {
      if (data.data) add([data.data.taskOutput]);
    },
  });

  useEffect(() => {
    if (!active || mode !== 'long-polling') return;
    const controller = new AbortController();
    void followOutputByLongPolling({ client, pool, id, after: last.current, onChunks: add, signal: controller.signal });
    return () => controller.abort();
  }, [client, pool, id, active, mode, add]);

  return chunks;
}

/** The current time, updated every `intervalMs` while `active`. */
export function useNow(active: boolean, intervalMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
  return now;
}
