import { useApolloClient, useSubscription } from '@apollo/client/react';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { OutputFieldsFragment, TaskFieldsFragment, TaskStatus } from './gql/graphql';
import { followChangesByLongPolling, followOutputByLongPolling, type TaskChange } from './longPoll';
import { LongPollPool } from './longPollPool';
import { TASK_CHANGES, TASK_FIELDS, TASK_OUTPUT } from './operations';
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
 * Whether a card is live, and over what. A card follows nothing of its own: the list's change
 * feed (useTaskListFeed) writes every change of every listed task into Apollo's cache, and
 * every view of the task re-renders from there.
 */
export function useFollowState(task: { done: boolean }): FollowState {
  const { mode } = useTransport();
  return task.done ? 'final' : mode;
}

/** Most tasks the list keeps from the feed besides its pages (the newest): a page open for days stays bounded. */
const MAX_FEED_TASKS = 1_000;

export interface ListFilters {
  status?: TaskStatus;
  kind?: string;
  tag?: string;
}

/**
 * Keeps a task list live from the change feed, starting at `changesCursor` (the position the
 * list was read at): a `taskChanges` subscription over the WebSocket, or awaitTaskChanges
 * long-polls when the page fell back to HTTP. Either (re)starts after the last change received,
 * so a reconnect, a server restart or a switch of transport misses nothing. Kind and tag
 * filter on the server; the status is not sent, so that the list hears of a task leaving it.
 * Each change goes into Apollo's cache (every card of the task re-renders); returns the
 * latest state of every task changed since the list was read, newest first.
 */
export function useTaskListFeed({ status, kind, tag }: ListFilters, changesCursor: string | undefined): TaskFieldsFragment[] {
  const { pool } = useLive();
  const { mode } = useTransport();
  const client = useApolloClient();
  const key = JSON.stringify([status, kind, tag]);
  const filter = useMemo(() => ({ kinds: kind ? [kind] : null, tags: tag ? [tag] : null }), [kind, tag]);
  const [arrived, setArrived] = useState<{ key: string; tasks: TaskFieldsFragment[] }>({ key, tasks: [] });
  // Where the feed resumes: the list's changesCursor once it is read, then each change's cursor.
  const cursor = useRef<{ key: string; after: string } | null>(null);
  if (changesCursor !== undefined && cursor.current?.key !== key) cursor.current = { key, after: changesCursor };
  const ready = changesCursor !== undefined;

  const onChange = useCallback(
    (change: TaskChange) => {
      if (cursor.current?.key !== key) return;
      cursor.current.after = change.cursor;
      client.cache.writeFragment({ fragment: TASK_FIELDS, fragmentName: 'TaskFields', data: change.task });
      setArrived((shown) => {
        const tasks = shown.key === key ? shown.tasks.filter((task) => task.id !== change.task.id) : [];
        return { key, tasks: newestFirst([change.task, ...tasks]).slice(0, MAX_FEED_TASKS) };
      });
    },
    [client, key],
  );

  useEffect(() => {
    if (!ready || mode !== 'websocket') return;
    const subscription = client.subscribe({ query: TASK_CHANGES, variables: { filter, after: cursor.current!.after } }).subscribe({
      next: ({ data }) => {
        if (data) onChange(data.taskChanges);
      },
      // A dropped connection: the transport goes to `connecting`, and this resubscribes after it.
      error: () => {},
    });
    return () => subscription.unsubscribe();
  }, [client, filter, ready, mode, onChange]);

  useEffect(() => {
    if (!ready || mode !== 'long-polling') return;
    const controller = new AbortController();
    void followChangesByLongPolling({ client, pool, filter, after: cursor.current!.after, onChange, signal: controller.signal });
    return () => controller.abort();
  }, [client, pool, filter, ready, mode, onChange]);

  return arrived.key === key ? arrived.tasks : [];
}

/** Tasks newest first, as the list orders them. */
export function newestFirst<T extends { createdAt: string }>(tasks: T[]): T[] {
  return [...tasks].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
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
