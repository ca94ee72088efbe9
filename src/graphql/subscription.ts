import { DomainError, statusOf } from '../tasks/errors.js';
import type { OutputChunk } from '../tasks/output.js';
import type { Task } from '../tasks/task.js';
import { builder } from './builder.js';
import { TaskOutputRef, TaskRef } from './task.js';

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
    subscribe: (_, { id, afterRevision }, ctx) =>
      ctx.tasks.follow(ctx.principal, { id, afterRevision, client: ctx.client, slot: ctx.streamSlot }).catch(refusedWithStatus),
    resolve: (task: Task) => task,
  }),

  taskOutput: t.field({
    type: TaskOutputRef,
    description:
      'Every output chunk with seq > after, in order, exactly once (served from storage however slow the subscriber), ' +
      'then each new chunk as it commits; completes after the task is final and its last chunk was delivered.',
    args: {
      id: t.arg.id({ required: true }),
      after: t.arg.int({ defaultValue: 0 }),
    },
    subscribe: (_, { id, after }, ctx) =>
      ctx.tasks.followOutput(ctx.principal, { id, after: after ?? 0, client: ctx.client, slot: ctx.streamSlot }).catch(refusedWithStatus),
    resolve: (chunk: OutputChunk) => chunk,
  }),
}));

/**
 * A subscription refused before it starts (an unknown id) is a result with no data, which
 * Yoga answers 500 over plain HTTP unless the error says otherwise: the refusal's own status
 * (404 for NOT_FOUND) under application/graphql-response+json; 200 under application/json
 * (`spec`), as for every other GraphQL error there.
 */
function refusedWithStatus(error: unknown): never {
  if (error instanceof DomainError) error.extensions.http ??= { status: statusOf(error.code), spec: true };
  throw error;
}
