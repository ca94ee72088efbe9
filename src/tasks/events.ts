import type { OutputChunk } from './output.js';
import type { Task } from './task.js';

export type TaskListener = (task: Task) => void;

/**
 * Told that task output up to `seq` is committed: with the chunk itself when it was appended
 * here, with null when only its seq is known (another instance appended it; read it from storage).
 */
export type OutputListener = (seq: number, chunk: OutputChunk | null) => void;

/**
 * Hears a tenant's feed: each committed change with its row (`task.feedPos` is its
 * position), or only that the feed reached `position` when the row is not at hand (a change
 * another instance made, noticed late); the listener reads the store then. `chain` names the
 * run of positions the change belongs to (`FeedHead`).
 */
export type FeedListener = (position: number, task: Task | null, chain: number) => void;

/**
 * Where a tenant's feed has come to in this process. Positions published one after another
 * (each the previous one plus one, each with its row) form a chain; any other (a jump, a
 * position announced without its row) starts a new one. A reader that has covered the feed
 * up to `position` while the chain was `chain`, and is then handed a change of the same
 * chain, knows that every position in between was published here with its row: the ones it
 * was not handed did not match its kinds.
 */
export interface FeedHead {
  chain: number;
  position: number;
}

export interface TaskEvents {
  /**
   * Hands the committed row to every listener of its task, synchronously, unless its
   * listeners already had this revision or a newer one (a change announced twice, or late,
   * is delivered once, in order); and to every listener of its tenant's feed.
   */
  publish(task: Task): void;
  /** Tells the listeners of the tenant's feed that it reached `position` (changes they may not have had). */
  announceFeed(tenant: string, position: number): void;
  /**
   * Listens to the committed changes of one tenant's tasks, of `kinds` only when given and not
   * empty (announcements reach every listener); returns the function that stops listening.
   */
  subscribeFeed(tenant: string, listener: FeedListener, kinds?: readonly string[] | null): () => void;
  /**
   * The chain of the tenant's feed if its last position published here is `position` (a
   * reader that covered the feed up to there is caught up with the chain); when nothing was
   * published since the first listener came, `position` becomes the chain's start. Null
   * otherwise, or when nobody listens to the feed.
   */
  joinFeed(tenant: string, position: number): number | null;
  /** Where the tenant's feed has come to here; null when nobody listens to it. */
  feedHead(tenant: string): FeedHead | null;
  /** Whether anyone listens to this tenant's feed. */
  isFeedWatched(tenant: string): boolean;
  /** Each tenant whose feed someone listens to. */
  watchedFeeds(): IterableIterator<string>;
  /** Listens to one task's committed changes; returns the function that stops listening. */
  subscribe(id: string, listener: TaskListener): () => void;
  /** Announces committed output of task `id`, up to `seq`, to that task's output listeners, synchronously. */
  publishOutput(id: string, seq: number, chunk: OutputChunk | null): void;
  /** Listens to one task's committed output; returns the function that stops listening. */
  subscribeOutput(id: string, listener: OutputListener): () => void;
  /** Whether anyone listens to this task's output. */
  isOutputWatched(id: string): boolean;
  /** Each task whose output someone listens to. */
  outputWatched(): IterableIterator<string>;
  /** How many listeners are registered, over all tasks, feeds (once per kind listened to) and output. */
  listenerCount(): number;
  /** Whether anyone listens to this task. */
  isWatched(id: string): boolean;
  /** Each task someone listens to, with the newest revision published to it (0 before any). */
  watched(): IterableIterator<[id: string, revision: number]>;
}

/** A tenant's feed listeners, by kind (null: of every kind), and its head. */
interface Feed {
  byKind: Map<string | null, Set<FeedListener>>;
  /** -1 until a position is published or joined. */
  head: FeedHead;
}

/**
 * In-process pub/sub scoped by task id (changes and output), and by tenant for feeds. A write wakes only the
 * listeners of its task and of its tenant's feed (a feed listener of another tenant costs it
 * nothing), and a listener that throws is reported to `onListenerError` without stopping the others.
 * Listeners must not block: waiters resolve a promise, streams keep only the latest row.
 */
export function createTaskEvents(onListenerError: (error: unknown) => void = () => {}): TaskEvents {
  const byTask = new Map<string, Set<TaskListener>>();
  /** The newest revision published to each watched task's listeners (none yet: absent). */
  const revisions = new Map<string, number>();
  const byTenant = new Map<string, Feed>();
  let chains = 0;
  const outputByTask = new Map<string, Set<OutputListener>>();
  let count = 0;

  function notify<A extends unknown[]>(listeners: Iterable<(...args: A) => void>, ...args: A): void {
    for (const listener of [...listeners]) {
      try {
        listener(...args);
      } catch (error) {
        onListenerError(error);
      }
    }
  }

  /** Adds `listener` to the set under `key`; returns the function that removes it (once). */
  function listen<K, L>(sets: Map<K, Set<L>>, key: K, listener: L): () => void {
    let listeners = sets.get(key);
    if (!listeners) sets.set(key, (listeners = new Set()));
    const held = listeners;
    held.add(listener);
    count++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      count--;
      held.delete(listener);
      if (held.size === 0 && sets.get(key) === held) sets.delete(key);
    };
  }

  /** Moves the feed's head to `position`: the chain goes on when a row comes next in line, and breaks on anything newer. */
  function advance(feed: Feed, position: number, withRow: boolean): void {
    const { head } = feed;
    if (withRow && position === head.position + 1) head.position = position;
    else if (position > head.position) feed.head = { chain: ++chains, position };
  }

  function subscribeFeed(tenant: string, listener: FeedListener, kinds?: readonly string[] | null): () => void {
    let feed = byTenant.get(tenant);
    if (!feed) byTenant.set(tenant, (feed = { byKind: new Map(), head: { chain: ++chains, position: -1 } }));
    const { byKind } = feed;
    const keys = kinds?.length ? [...new Set(kinds)] : [null];
    const removals = keys.map((kind) => listen(byKind, kind, listener));
    return () => {
      for (const remove of removals) remove();
      if (byKind.size === 0 && byTenant.get(tenant) === feed) byTenant.delete(tenant);
    };
  }

  return {
    publish(task) {
      const feed = byTenant.get(task.tenant);
      if (feed) {
        advance(feed, task.feedPos, true);
        const { chain } = feed.head;
        const anyKind = feed.byKind.get(null);
        if (anyKind) notify(anyKind, task.feedPos, task, chain);
        const ofKind = feed.byKind.get(task.kind);
        if (ofKind) notify(ofKind, task.feedPos, task, chain);
      }
      const listeners = byTask.get(task.id);
      if (!listeners || task.revision <= (revisions.get(task.id) ?? 0)) return;
      revisions.set(task.id, task.revision);
      notify(listeners, task);
    },

    announceFeed(tenant, position) {
      const feed = byTenant.get(tenant);
      if (!feed) return;
      advance(feed, position, false);
      const { chain } = feed.head;
      notify(new Set([...feed.byKind.values()].flatMap((listeners) => [...listeners])), position, null, chain);
    },

    subscribeFeed,

    feedHead: (tenant) => byTenant.get(tenant)?.head ?? null,

    joinFeed(tenant, position) {
      const feed = byTenant.get(tenant);
      if (!feed) return null;
      if (feed.head.position === -1) feed.head.position = position;
      return feed.head.position === position ? feed.head.chain : null;
    },

    publishOutput(id, seq, chunk) {
      const listeners = outputByTask.get(id);
      if (listeners) notify(listeners, seq, chunk);
    },

    subscribeOutput: (id, listener) => listen(outputByTask, id, listener),

    isOutputWatched: (id) => outputByTask.has(id),

    outputWatched: () => outputByTask.keys(),

    isFeedWatched: (tenant) => byTenant.has(tenant),

    watchedFeeds: () => byTenant.keys(),

    subscribe(id, listener) {
      const stop = listen(byTask, id, listener);
      return () => {
        stop();
        if (!byTask.has(id)) revisions.delete(id);
      };
    },

    listenerCount: () => count,

    isWatched: (id) => byTask.has(id),

    *watched() {
      for (const id of byTask.keys()) yield [id, revisions.get(id) ?? 0];
    },
  };
}
