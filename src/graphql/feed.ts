import type { FeedChange, FeedPage } from '../tasks/service.js';
import { builder } from './builder.js';
import { TaskRef, TaskStatusEnum } from './task.js';

export const TaskFilterInput = builder.inputType('TaskFilter', {
  description: 'Which tasks a change feed holds; each list, when given and not empty, admits any of its values, and all given lists must admit a task.',
  fields: (t) => ({
    kinds: t.stringList({ description: 'Any of these kinds.' }),
    tags: t.stringList({ description: 'Tasks carrying any of these tags.' }),
    statuses: t.field({ type: [TaskStatusEnum], description: 'Matched against the state after the change.' }),
  }),
});

export const TaskChangeRef = builder.objectRef<FeedChange>('TaskChange').implement({
  description: 'A task in its tenant\'s change feed, at its latest state, and the position that change took.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque; pass as `after` to continue right after this change.' }),
    task: t.expose('task', { type: TaskRef }),
  }),
});

export const TaskChangePageRef = builder.objectRef<FeedPage>('TaskChangePage').implement({
  description: 'A page of a change feed, in position order.',
  fields: (t) => ({
    changes: t.expose('changes', { type: [TaskChangeRef] }),
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to continue: the last change\'s cursor, or the position read up to.' }),
  }),
});
