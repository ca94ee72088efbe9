/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Which tasks a change feed holds; each list, when given and not empty, admits any of its values, and all given lists must admit a task. */
export type TaskFilter = {
  /** Any of these kinds. */
  kinds?: Array<string> | null | undefined;
  /** Matched against the state after the change. */
  statuses?: Array<TaskStatus> | null | undefined;
  /** Tasks carrying any of these tags. */
  tags?: Array<string> | null | undefined;
};

/** QUEUED -> RUNNING -> COMPLETED | FAILED | CANCELLED; QUEUED -> CANCELLED; RUNNING -> QUEUED on retry or lease expiry. */
export type TaskStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING';

export type FollowedTaskFragment = { id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null };

export type FollowTaskSubscriptionVariables = Exact<{
  id: string | number;
  after?: number | null | undefined;
}>;


export type FollowTaskSubscription = { taskUpdated: { id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null } };

export type AwaitTaskQueryVariables = Exact<{
  id: string | number;
  after?: number | null | undefined;
  timeout?: number | null | undefined;
}>;


export type AwaitTaskQuery = { awaitTask: { id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null } | null };

export type FollowedOutputFragment = { seq: number, stream: string, data: string, at: string };

export type FollowOutputSubscriptionVariables = Exact<{
  id: string | number;
  after?: number | null | undefined;
}>;


export type FollowOutputSubscription = { taskOutput: { seq: number, stream: string, data: string, at: string } };

export type AwaitOutputQueryVariables = Exact<{
  id: string | number;
  after?: number | null | undefined;
  timeout?: number | null | undefined;
}>;


export type AwaitOutputQuery = { awaitTaskOutput: Array<{ seq: number, stream: string, data: string, at: string }> | null };

export type OutputEndQueryVariables = Exact<{
  id: string | number;
}>;


export type OutputEndQuery = { task: { done: boolean, outputSeq: number } | null };

export type FollowedChangeFragment = { cursor: string, task: { tags: Array<string>, id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null } };

export type FollowChangesSubscriptionVariables = Exact<{
  filter?: TaskFilter | null | undefined;
  after?: string | null | undefined;
}>;


export type FollowChangesSubscription = { taskChanges: { cursor: string, task: { tags: Array<string>, id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null } } };

export type ReadChangesQueryVariables = Exact<{
  filter?: TaskFilter | null | undefined;
  after?: string | null | undefined;
  first?: number | null | undefined;
}>;


export type ReadChangesQuery = { taskChanges: { cursor: string, changes: Array<{ cursor: string, task: { tags: Array<string>, id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null } }> } };

export type AwaitChangesQueryVariables = Exact<{
  filter?: TaskFilter | null | undefined;
  after: string;
  timeout?: number | null | undefined;
  first?: number | null | undefined;
}>;


export type AwaitChangesQuery = { awaitTaskChanges: { cursor: string, changes: Array<{ cursor: string, task: { tags: Array<string>, id: string, kind: string, status: TaskStatus, done: boolean, progress: number, message: string | null, result: unknown, attempts: number, maxAttempts: number, revision: number, createdAt: string, updatedAt: string, startedAt: string | null, completedAt: string | null, error: { message: string, code: string | null, details: unknown } | null } }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const FollowedOutputFragmentDoc = new TypedDocumentString(`
    fragment FollowedOutput on TaskOutput {
  seq
  stream
  data
  at
}
    `, {"fragmentName":"FollowedOutput"}) as unknown as TypedDocumentString<FollowedOutputFragment, unknown>;
export const FollowedTaskFragmentDoc = new TypedDocumentString(`
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}
    `, {"fragmentName":"FollowedTask"}) as unknown as TypedDocumentString<FollowedTaskFragment, unknown>;
export const FollowedChangeFragmentDoc = new TypedDocumentString(`
    fragment FollowedChange on TaskChange {
  cursor
  task {
    ...FollowedTask
    tags
  }
}
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}`, {"fragmentName":"FollowedChange"}) as unknown as TypedDocumentString<FollowedChangeFragment, unknown>;
export const FollowTaskDocument = new TypedDocumentString(`
    subscription FollowTask($id: ID!, $after: Int) {
  taskUpdated(id: $id, afterRevision: $after) {
    ...FollowedTask
  }
}
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}`) as unknown as TypedDocumentString<FollowTaskSubscription, FollowTaskSubscriptionVariables>;
export const AwaitTaskDocument = new TypedDocumentString(`
    query AwaitTask($id: ID!, $after: Int, $timeout: Float) {
  awaitTask(id: $id, afterRevision: $after, timeout: $timeout) {
    ...FollowedTask
  }
}
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}`) as unknown as TypedDocumentString<AwaitTaskQuery, AwaitTaskQueryVariables>;
export const FollowOutputDocument = new TypedDocumentString(`
    subscription FollowOutput($id: ID!, $after: Int) {
  taskOutput(id: $id, after: $after) {
    ...FollowedOutput
  }
}
    fragment FollowedOutput on TaskOutput {
  seq
  stream
  data
  at
}`) as unknown as TypedDocumentString<FollowOutputSubscription, FollowOutputSubscriptionVariables>;
export const AwaitOutputDocument = new TypedDocumentString(`
    query AwaitOutput($id: ID!, $after: Int, $timeout: Float) {
  awaitTaskOutput(id: $id, after: $after, timeout: $timeout) {
    ...FollowedOutput
  }
}
    fragment FollowedOutput on TaskOutput {
  seq
  stream
  data
  at
}`) as unknown as TypedDocumentString<AwaitOutputQuery, AwaitOutputQueryVariables>;
export const OutputEndDocument = new TypedDocumentString(`
    query OutputEnd($id: ID!) {
  task(id: $id) {
    done
    outputSeq
  }
}
    `) as unknown as TypedDocumentString<OutputEndQuery, OutputEndQueryVariables>;
export const FollowChangesDocument = new TypedDocumentString(`
    subscription FollowChanges($filter: TaskFilter, $after: String) {
  taskChanges(filter: $filter, after: $after) {
    ...FollowedChange
  }
}
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}
fragment FollowedChange on TaskChange {
  cursor
  task {
    ...FollowedTask
    tags
  }
}`) as unknown as TypedDocumentString<FollowChangesSubscription, FollowChangesSubscriptionVariables>;
export const ReadChangesDocument = new TypedDocumentString(`
    query ReadChanges($filter: TaskFilter, $after: String, $first: Int) {
  taskChanges(filter: $filter, after: $after, first: $first) {
    cursor
    changes {
      ...FollowedChange
    }
  }
}
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}
fragment FollowedChange on TaskChange {
  cursor
  task {
    ...FollowedTask
    tags
  }
}`) as unknown as TypedDocumentString<ReadChangesQuery, ReadChangesQueryVariables>;
export const AwaitChangesDocument = new TypedDocumentString(`
    query AwaitChanges($filter: TaskFilter, $after: String!, $timeout: Float, $first: Int) {
  awaitTaskChanges(
    filter: $filter
    after: $after
    timeout: $timeout
    first: $first
  ) {
    cursor
    changes {
      ...FollowedChange
    }
  }
}
    fragment FollowedTask on Task {
  id
  kind
  status
  done
  progress
  message
  result
  error {
    message
    code
    details
  }
  attempts
  maxAttempts
  revision
  createdAt
  updatedAt
  startedAt
  completedAt
}
fragment FollowedChange on TaskChange {
  cursor
  task {
    ...FollowedTask
    tags
  }
}`) as unknown as TypedDocumentString<AwaitChangesQuery, AwaitChangesQueryVariables>;