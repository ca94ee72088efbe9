import { useApolloClient, useSubscription } from '@apollo/client/react';
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { followByLongPolling } from './longPoll';
import { LongPollPool } from './longPollPool';
import { TASK_UPDATED } from './operations';
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
