import { openDb } from '../../src/db/client.js';
import { createTaskEvents } from '../../src/tasks/events.js';
import { createTaskRepository } from '../../src/tasks/repository.js';
import { createTaskService, type TaskServiceLimits } from '../../src/tasks/service.js';
import { createSqliteTaskStore } from '../../src/tasks/sqlite-store.js';
import type { Task } from '../../src/tasks/task.js';

export const LIMITS: TaskServiceLimits = {
  awaitTimeoutMaxSeconds: 60,
  maxWaiters: 20_000,
  maxWaitersPerClient: 1_000,
  maxPayloadBytes: 65_536,
  retentionHours: 168,
};

/** The real service on a real `:memory:` database with the real migrations; `published` records every event. */
export function createTestService(options: { limits?: Partial<TaskServiceLimits>; clock?: () => Date; url?: string } = {}) {
  const database = openDb({ url: options.url ?? ':memory:', synchronous: 'NORMAL' });
  const repo = createTaskRepository(database.db);
  const store = createSqliteTaskStore(repo);
  // A listener or background job that throws must fail the test, not vanish: rethrown here it
  // surfaces as an uncaught error, which vitest reports.
  const rethrow = (error: unknown) => {
    throw error;
  };
  const events = createTaskEvents(rethrow);
  const published: Task[] = [];
  const recorded = {
    ...events,
    publish(task: Task) {
      published.push(task);
      events.publish(task);
    },
  };
  const tasks = createTaskService({
    store,
    events: recorded,
    limits: { ...LIMITS, ...options.limits },
    clock: options.clock,
    onError: rethrow,
  });
  return {
    database,
    repo,
    store,
    events,
    tasks,
    published,
    close() {
      tasks.close();
      store.flush();
      database.close();
    },
  };
}
