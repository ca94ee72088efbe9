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

/** What an output append notifies: only which task and its new last seq; a listener reads the chunks from storage. */
export interface OutputNotice {
  origin: string;
  id: string;
  outputSeq: number;
}

/** The payload an output append NOTIFYs, in its own transaction. */
export const outputNoticeOf = (origin: string, id: string, outputSeq: number): string => JSON.stringify({ origin, id, outputSeq } satisfies OutputNotice);

/** The payload a write NOTIFYs, in its own transaction. */
export const noticeOf = (origin: string, task: Task): string =>
  JSON.stringify({ origin, id: task.id, revision: task.revision, leaseExpiresAt: task.leaseExpiresAt?.getTime() ?? null } satisfies TaskNotice);
