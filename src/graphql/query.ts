import { builder } from './builder.js';
import { TaskConnectionRef, TaskOutputRef, TaskRef, TaskStatusEnum } from './task.js';

builder.queryFields((t) => ({
  task: t.field({
    type: TaskRef,
    nullable: true,
    description: 'The task, or null when the id is unknown.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => ctx.tasks.get(ctx.principal, id),
  }),

  awaitTask: t.field({
    type: TaskRef,
    nullable: true,
    description:
      'Holds the request until the task is done, or (with afterRevision) changes, or the timeout passes; returns the latest state. ' +
      'done: false means the wait timed out. Null for an unknown id.',
    args: {
      id: t.arg.id({ required: true }),
      timeout: t.arg.float({
        defaultValue: 30,
        description: 'Seconds; 0 returns at once; clamped to the server maximum.',
      }),
      afterRevision: t.arg.int({ description: 'Return as soon as the revision is greater than this.' }),
    },
    resolve: async (_, { id, timeout, afterRevision }, ctx) => {
      const { task, wokenAt } = await ctx.tasks.awaitTask(ctx.principal, {
        id,
        timeoutSeconds: timeout ?? 30,
        afterRevision,
        signal: ctx.signal,
        client: ctx.client,
      });
      if (wokenAt !== null && ctx.trace) ctx.trace.wokenAt = wokenAt;
      return task;
    },
  }),

  awaitTaskOutput: t.field({
    type: [TaskOutputRef],
    nullable: true,
    description:
      'The output chunks with seq > after at once if there are any; otherwise holds until the first new chunk, ' +
      'the task becoming final ([]) or the timeout ([]). Null for an unknown id.',
    args: {
      id: t.arg.id({ required: true }),
      after: t.arg.int({ defaultValue: 0 }),
      timeout: t.arg.float({
        defaultValue: 30,
        description: 'Seconds; 0 returns at once; clamped to the server maximum.',
      }),
      first: t.arg.int({ defaultValue: 1000, description: 'Most chunks returned, clamped to 1..1000.' }),
    },
    resolve: async (_, { id, after, timeout, first }, ctx) => {
      const { task, chunks, wokenAt } = await ctx.tasks.awaitOutput(ctx.principal, {
        id,
        after: after ?? 0,
        first: first ?? 1000,
        timeoutSeconds: timeout ?? 30,
        signal: ctx.signal,
        client: ctx.client,
      });
      if (wokenAt !== null && ctx.trace) ctx.trace.wokenAt = wokenAt;
      return task && chunks;
    },
  }),

  tasks: t.field({
    type: TaskConnectionRef,
    description: 'Tasks newest first.',
    args: {
      status: t.arg({ type: TaskStatusEnum }),
      kind: t.arg.string(),
      tag: t.arg.string(),
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
    },
    resolve: async (_, { status, kind, tag, first, after }, ctx) => {
      const page = await ctx.tasks.list(ctx.principal, { status, kind, tag, first: first ?? 20, after });
      const edges = page.tasks.map((node) => ({ node, cursor: page.cursorOf(node) }));
      return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    },
  }),
}));
