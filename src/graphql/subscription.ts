import type { Task } from '../tasks/task.js';
import { builder } from './builder.js';
import { TaskRef } from './task.js';

builder.subscriptionFields((t) => ({
  taskUpdated: t.field({
    type: TaskRef,
    description:
      'The current state first (only if newer than afterRevision), then every committed change; ' +
      'completes after a final state. A slow subscriber may skip revisions but always gets the latest.',
    args: {
      id: t.arg.id({ required: true }),
      afterRevision: t.arg.int(),
    },
    subscribe: (_, { id, afterRevision }, ctx) => ctx.tasks.follow(ctx.principal, { id, afterRevision }),
    resolve: (task: Task) => task,
  }),
}));
