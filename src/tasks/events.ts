import type { Task } from './task.js';

export type TaskListener = (task: Task) => void;

export interface TaskEvents {
  /** Hands the committed row to every listener of its task, synchronously. */
  publish(task: Task): void;
  /** Listens to one task's committed changes; returns the function that stops listening. */
  subscribe(id: string, listener: TaskListener): () => void;
  /** How many listeners are registered, over all tasks. */
  listenerCount(): number;
}

/**
 * In-process pub/sub scoped by task id. A write wakes only the listeners of its task, and a
 * listener that throws is reported to `onListenerError` without stopping the others.
 * Listeners must not block: waiters resolve a promise, streams keep only the latest row.
 */
export function createTaskEvents(onListenerError: (error: unknown) => void = () => {}): TaskEvents {
  const byTask = new Map<string, Set<TaskListener>>();
  let count = 0;

  return {
    publish(task) {
      const listeners = byTask.get(task.id);
      if (!listeners) return;
      for (const listener of [...listeners]) {
        try {
          listener(task);
        } catch (error) {
          onListenerError(error);
        }
      }
    },

    subscribe(id, listener) {
      let listeners = byTask.get(id);
      if (!listeners) byTask.set(id, (listeners = new Set()));
      listeners.add(listener);
      count++;
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        count--;
        listeners.delete(listener);
        if (listeners.size === 0 && byTask.get(id) === listeners) byTask.delete(id);
      };
    },

    listenerCount: () => count,
  };
}
