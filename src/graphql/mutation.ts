import { builder } from './builder.js';
import { TaskRef } from './task.js';

builder.mutationFields((t) => ({
  createTask: t.field({
    type: TaskRef,
    description: 'Queues a task. With an idempotencyKey already used, returns the existing task.',
    args: {
      kind: t.arg.string({ required: true }),
      input: t.arg({ type: 'JSON' }),
      idempotencyKey: t.arg.string(),
      maxAttempts: t.arg.int({ defaultValue: 3 }),
      tags: t.arg.stringList(),
    },
    resolve: (_, { kind, input, idempotencyKey, maxAttempts, tags }, ctx) =>
      ctx.tasks.create(ctx.principal, { kind, input, idempotencyKey, maxAttempts: maxAttempts ?? 3, tags }),
  }),

  claimTask: t.field({
    type: TaskRef,
    nullable: true,
    description: 'Claims the oldest queued task of the given kinds (any kind when omitted); null when nothing is queued.',
    args: {
      kinds: t.arg.stringList(),
      workerId: t.arg.string({ required: true }),
      leaseSeconds: t.arg.int({ defaultValue: 30 }),
    },
    resolve: (_, { kinds, workerId, leaseSeconds }, ctx) =>
      ctx.tasks.claim(ctx.principal, { kinds, workerId, leaseSeconds: leaseSeconds ?? 30 }),
  }),

  heartbeat: t.field({
    type: TaskRef,
    description: 'Extends the lease; not a change, so no revision bump and no event.',
    args: {
      id: t.arg.id({ required: true }),
      workerId: t.arg.string({ required: true }),
      leaseSeconds: t.arg.int({ defaultValue: 30 }),
    },
    resolve: (_, { id, workerId, leaseSeconds }, ctx) =>
      ctx.tasks.heartbeat(ctx.principal, { id, workerId, leaseSeconds: leaseSeconds ?? 30 }),
  }),

  reportProgress: t.field({
    type: TaskRef,
    description: 'Sets progress (0..100) and message of a running task; also extends the lease.',
    args: {
      id: t.arg.id({ required: true }),
      progress: t.arg.int({ required: true }),
      message: t.arg.string(),
      workerId: t.arg.string(),
    },
    resolve: (_, args, ctx) => ctx.tasks.reportProgress(ctx.principal, args),
  }),

  completeTask: t.field({
    type: TaskRef,
    args: {
      id: t.arg.id({ required: true }),
      result: t.arg({ type: 'JSON' }),
      workerId: t.arg.string(),
    },
    resolve: (_, args, ctx) => ctx.tasks.complete(ctx.principal, args),
  }),

  failTask: t.field({
    type: TaskRef,
    description: 'Fails the attempt; with retry: true and attempts left, the task goes back to QUEUED.',
    args: {
      id: t.arg.id({ required: true }),
      message: t.arg.string({ required: true }),
      code: t.arg.string(),
      retry: t.arg.boolean({ defaultValue: false }),
      workerId: t.arg.string(),
    },
    resolve: (_, { retry, ...args }, ctx) => ctx.tasks.fail(ctx.principal, { ...args, retry: retry ?? false }),
  }),

  appendTaskOutput: t.int({
    description:
      "Appends one chunk to a RUNNING task's output, by the worker holding its lease; returns the chunk's seq. " +
      'Neither bumps the revision nor extends the lease. stream: 1 to 32 letters, digits and _.:-',
    args: {
      id: t.arg.id({ required: true }),
      data: t.arg.string({ required: true }),
      stream: t.arg.string({ defaultValue: 'log' }),
      workerId: t.arg.string(),
    },
    resolve: (_, { id, data, stream, workerId }, ctx) => ctx.tasks.appendOutput(ctx.principal, { id, data, stream: stream ?? 'log', workerId }),
  }),

  cancelTask: t.field({
    type: TaskRef,
    description: 'Cancels a queued or running task; a final task is returned unchanged.',
    args: {
      id: t.arg.id({ required: true }),
      reason: t.arg.string(),
    },
    resolve: (_, args, ctx) => ctx.tasks.cancel(ctx.principal, args),
  }),
}));
