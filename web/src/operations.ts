import { graphql } from './gql';

/*
 * Every operation the dashboard sends. They all select the same TaskFields, so whichever
 * one brings a task in (the list, a subscription event, a long-poll answer, a mutation),
 * Apollo's cache stores the whole Task under its id and every view of it re-renders.
 * After editing, run `npm run codegen`.
 */

export const TASK_FIELDS = graphql(`
  fragment TaskFields on Task {
    id
    kind
    tags
    status
    done
    progress
    message
    input
    result
    error {
      message
      code
    }
    attempts
    maxAttempts
    revision
    createdAt
    updatedAt
    startedAt
    completedAt
  }
`);

export const TASKS = graphql(`
  query Tasks($status: TaskStatus, $kind: String, $tag: String, $first: Int, $after: String) {
    tasks(status: $status, kind: $kind, tag: $tag, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...TaskFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      changesCursor
    }
  }
`);

export const TASK_CHANGES = graphql(`
  subscription TaskChanges($filter: TaskFilter, $after: String) {
    taskChanges(filter: $filter, after: $after) {
      cursor
      task {
        ...TaskFields
      }
    }
  }
`);

export const AWAIT_TASK_CHANGES = graphql(`
  query AwaitTaskChanges($filter: TaskFilter, $after: String!, $timeout: Float) {
    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout) {
      cursor
      changes {
        cursor
        task {
          ...TaskFields
        }
      }
    }
  }
`);

export const CREATE_TASK = graphql(`
  mutation CreateTask($kind: String!, $input: JSON, $maxAttempts: Int) {
    createTask(kind: $kind, input: $input, maxAttempts: $maxAttempts) {
      ...TaskFields
    }
  }
`);

export const CANCEL_TASK = graphql(`
  mutation CancelTask($id: ID!, $reason: String) {
    cancelTask(id: $id, reason: $reason) {
      ...TaskFields
    }
  }
`);

export const OUTPUT_FIELDS = graphql(`
  fragment OutputFields on TaskOutput {
    seq
    stream
    data
  }
`);

export const TASK_OUTPUT = graphql(`
  subscription TaskOutput($id: ID!, $after: Int) {
    taskOutput(id: $id, after: $after) {
      ...OutputFields
    }
  }
`);

export const AWAIT_TASK_OUTPUT = graphql(`
  query AwaitTaskOutput($id: ID!, $after: Int, $timeout: Float) {
    awaitTaskOutput(id: $id, after: $after, timeout: $timeout) {
      ...OutputFields
    }
    task(id: $id) {
      id
      done
      outputSeq
    }
  }
`);
