import type { OutputChunk } from './output.js';
import type { Task } from './task.js';

export type TaskListener = (task: Task) => void;

/**
 * Told that task output up to `seq` is committed: with the chunk itself when it was appended
 * here, with null when only its seq is known (another instance appended it; read it from storage).
 */
export type OutputListener = (seq: number, chunk: OutputChunk | null) => void;

export interface TaskEvents {
  /**
   * Hands the committed row to every listener of its task, synchronously, unless its
   * listeners already had this revision or a newer one (a change announced twice, or late,
   * is delivered once, in order).
   */
  publish(task: Task): void;
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
  /** How many listeners are registered, over all tasks, output listeners included. */
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

  return {
    publish(task) {
      const watch = byTask.get(task.id);
      if (!watch || task.revision <= watch.revision) return;
      watch.revision = task.revision;
      notify(watch.listeners, task);
    },

    publishOutput(id, seq, chunk) {
      const listeners = outputByTask.get(id);
      if (listeners) notify(listeners, seq, chunk);
    },

    subscribeOutput(id, listener) {
      let listeners = outputByTask.get(id);
      if (!listeners) outputByTask.set(id, (listeners = new Set()));
      const own = listeners;
      own.add(listener);
      count++;
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        count--;
        own.delete(listener);
        if (own.size === 0 && outputByTask.get(id) === own) outputByTask.delete(id);
      };
    },

    isOutputWatched: (id) => outputByTask.has(id),

    outputWatched: () => outputByTask.keys(),

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
