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
 * another instance made, noticed late); the listener reads the store then.
 */
export type FeedListener = (position: number, task: Task | null) => void;

export interface TaskEvents {
  /**
   * Hands the committed row to every listener of its task, synchronously, unless its
   * listeners already had this revision or a newer one (a change announced twice, or late,
   * is delivered once, in order); and to every listener of its tenant's feed.
   */
  publish(task: Task): void;
  /** Tells the listeners of the tenant's feed that it reached `position` (changes they may not have had). */
  announceFeed(tenant: string, position: number): void;
  /** Listens to every committed change of one tenant's tasks; returns the function that stops listening. */
  subscribeFeed(tenant: string, listener: FeedListener): () => void;
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
  /** How many listeners are registered, over all tasks, feeds and output. */
  listenerCount(): number;
  /** Whether anyone listens to this task. */
  isWatched(id: string): boolean;
  /** Each task someone listens to, with the newest revision published to it (0 before any). */
  watched(): IterableIterator<[id: string, revision: number]>;
}

interface Watch {
  listeners: Set<TaskListener>;
  revision: number;
}

/**
 * In-process pub/sub scoped by task id (changes and output), and by tenant for feeds. A write wakes only the
 * listeners of its task and of its tenant's feed (a feed listener of another tenant costs it
 * nothing), and a listener that throws is reported to `onListenerError` without stopping the others.
 * Listeners must not block: waiters resolve a promise, streams keep only the latest row.
 */
export function createTaskEvents(onListenerError: (error: unknown) => void = () => {}): TaskEvents {
  const byTask = new Map<string, Watch>();
  const byTenant = new Map<string, Set<FeedListener>>();
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
  function listen<L>(sets: Map<string, Set<L>>, key: string, listener: L): () => void {
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

  return {
    publish(task) {
      const feed = byTenant.get(task.tenant);
      if (feed) notify(feed, task.feedPos, task);
      const watch = byTask.get(task.id);
      if (!watch || task.revision <= watch.revision) return;
      watch.revision = task.revision;
      notify(watch.listeners, task);
    },

    announceFeed(tenant, position) {
      const listeners = byTenant.get(tenant);
      if (listeners) notify(listeners, position, null);
    },

    subscribeFeed: (tenant, listener) => listen(byTenant, tenant, listener),

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
      let watch = byTask.get(id);
      if (!watch) byTask.set(id, (watch = { listeners: new Set(), revision: 0 }));
      const { listeners } = watch;
      listeners.add(listener);
      count++;
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        count--;
        listeners.delete(listener);
        if (listeners.size === 0 && byTask.get(id) === watch) byTask.delete(id);
      };
    },

    listenerCount: () => count,

    isWatched: (id) => byTask.has(id),

    *watched() {
      for (const [id, watch] of byTask) yield [id, watch.revision];
    },
  };
}
