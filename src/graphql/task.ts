import type { OutputChunk } from '../tasks/output.js';
import { isFinal, TASK_STATUSES, type Task, type TaskFailure } from '../tasks/task.js';
import { builder } from './builder.js';

export const TaskStatusEnum = builder.enumType('TaskStatus', {
  description: 'QUEUED -> RUNNING -> COMPLETED | FAILED | CANCELLED; QUEUED -> CANCELLED; RUNNING -> QUEUED on retry or lease expiry.',
  values: TASK_STATUSES,
});

const TaskErrorRef = builder.objectRef<TaskFailure>('TaskError').implement({
  description: 'Why a task failed, or why it was cancelled.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', { nullable: true }),
    details: t.expose('details', { type: 'JSON', nullable: true }),
  }),
});

export const TaskOutputRef = builder.objectRef<OutputChunk>('TaskOutput').implement({
  description: "One chunk of a task's output (logs, or the partial output of a model run).",
  fields: (t) => ({
    seq: t.exposeInt('seq', { description: '1, 2, 3 … per task, in append order, no gaps.' }),
    stream: t.exposeString('stream', { description: 'Which stream it belongs to, e.g. "log", "stdout", "tokens".' }),
    data: t.exposeString('data'),
    at: t.expose('at', { type: 'DateTime', description: 'When it was appended.' }),
  }),
});

export const TaskRef = builder.objectRef<Task>('Task').implement({
  description: 'An asynchronous task and its latest state.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server-assigned and unguessable; the same string on every path.' }),
    kind: t.exposeString('kind', { description: 'What sort of task, e.g. "report.generate".' }),
    tags: t.exposeStringList('tags', { description: 'Given at creation, never changed; [] when none.' }),
    status: t.expose('status', { type: TaskStatusEnum }),
    done: t.boolean({
      description: 'True in COMPLETED, FAILED and CANCELLED; those states are final.',
      resolve: (task) => isFinal(task.status),
    }),
    progress: t.exposeInt('progress', { description: '0..100; 100 once COMPLETED.' }),
    message: t.exposeString('message', { nullable: true, description: 'The latest progress message from the worker.' }),
    input: t.expose('input', { type: 'JSON', nullable: true }),
    result: t.expose('result', { type: 'JSON', nullable: true, description: 'Set when COMPLETED.' }),
    error: t.expose('error', { type: TaskErrorRef, nullable: true, description: 'Set when FAILED, or why CANCELLED.' }),
    attempts: t.exposeInt('attempts', { description: 'Claims so far; +1 on every claim.' }),
    maxAttempts: t.exposeInt('maxAttempts'),
    revision: t.exposeInt('revision', {
      description: '1 on creation, +1 on every committed change (a lease extension is not one).',
    }),
    workerId: t.exposeString('workerId', { nullable: true, description: 'The worker holding the lease while RUNNING.' }),
    leaseExpiresAt: t.expose('leaseExpiresAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'Set on entering a final state.' }),
    outputSeq: t.exposeInt('outputSeq', { description: 'The seq of the last output chunk; 0 when none.' }),
    output: t.field({
      type: [TaskOutputRef],
      description: 'Output chunks with seq > after, in order, at most first (clamped to 1..1000).',
      args: {
        after: t.arg.int({ defaultValue: 0 }),
        first: t.arg.int({ defaultValue: 1000 }),
      },
      resolve: (task, { after, first }, ctx) => ctx.tasks.output(task, { after: after ?? 0, first: first ?? 1000 }),
    }),
  }),
});

interface Edge {
  cursor: string;
  node: Task;
}

interface Connection {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const PageInfoRef = builder.objectRef<Connection['pageInfo']>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

const TaskEdgeRef = builder.objectRef<Edge>('TaskEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.expose('node', { type: TaskRef }),
  }),
});

export const TaskConnectionRef = builder.objectRef<Connection>('TaskConnection').implement({
  description: 'A page of tasks, newest first (Relay cursor connection).',
  fields: (t) => ({
    edges: t.expose('edges', { type: [TaskEdgeRef] }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef }),
  }),
});
