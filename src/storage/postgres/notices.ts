import type { Task } from '../../tasks/task.js';

/** The channel on which every committed change is announced to all instances. */
export const TASK_EVENTS_CHANNEL = 'task_events';

/** What a change notification carries: enough to know whether to re-read the row. */
export interface TaskNotice {
  /** The instance that wrote it. */
  origin: string;
  id: string;
  revision: number;
  /** When the task's lease ends (epoch ms), if it is running. */
  leaseExpiresAt: number | null;
}

/** The payload a write NOTIFYs, in its own transaction. */
export const noticeOf = (origin: string, task: Task): string =>
  JSON.stringify({ origin, id: task.id, revision: task.revision, leaseExpiresAt: task.leaseExpiresAt?.getTime() ?? null } satisfies TaskNotice);
