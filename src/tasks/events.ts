import type { Task } from './task.js';

export type TaskListener = (task: Task) => void;

export interface TaskEvents {
  /**
   * Hands the committed row to every listener of its task, synchronously, unless its
   * listeners already had this revision or a newer one (a change announced twice, or late,
   * is delivered once, in order).
   */
  publish(task: Task): void;
  /** Listens to one task's committed changes; returns the function that stops listening. */
  subscribe(id: string, listener: TaskListener): () => void;
  /** How many listeners are registered, over all tasks. */
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
 * In-process pub/sub scoped by task id. A write wakes only the listeners of its task, and a
 * listener that throws is reported to `onListenerError` without stopping the others.
 * Listeners must not block: waiters resolve a promise, streams keep only the latest row.
 */
export function createTaskEvents(onListenerError: (error: unknown) => void = () => {}): TaskEvents {
  const byTask = new Map<string, Watch>();
  let count = 0;

  return {
    publish(task) {
      const watch = byTask.get(task.id);
      if (!watch || task.revision <= watch.revision) return;
      watch.revision = task.revision;
      for (const listener of [...watch.listeners]) {
        try {
          listener(task);
        } catch (error) {
          onListenerError(error);
        }
      }
    },

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
