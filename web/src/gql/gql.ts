/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment TaskFields on Task {\n    id\n    kind\n    tags\n    status\n    done\n    progress\n    message\n    input\n    result\n    error {\n      message\n      code\n    }\n    attempts\n    maxAttempts\n    revision\n    createdAt\n    updatedAt\n    startedAt\n    completedAt\n  }\n": typeof types.TaskFieldsFragmentDoc,
    "\n  query Tasks($status: TaskStatus, $kind: String, $tag: String, $first: Int, $after: String) {\n    tasks(status: $status, kind: $kind, tag: $tag, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      changesCursor\n    }\n  }\n": typeof types.TasksDocument,
    "\n  subscription TaskChanges($filter: TaskFilter, $after: String) {\n    taskChanges(filter: $filter, after: $after) {\n      cursor\n      task {\n        ...TaskFields\n      }\n    }\n  }\n": typeof types.TaskChangesDocument,
    "\n  query AwaitTaskChanges($filter: TaskFilter, $after: String!, $timeout: Float) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout) {\n      cursor\n      changes {\n        cursor\n        task {\n          ...TaskFields\n        }\n      }\n    }\n  }\n": typeof types.AwaitTaskChangesDocument,
    "\n  mutation CreateTask($kind: String!, $input: JSON, $maxAttempts: Int) {\n    createTask(kind: $kind, input: $input, maxAttempts: $maxAttempts) {\n      ...TaskFields\n    }\n  }\n": typeof types.CreateTaskDocument,
    "\n  mutation CancelTask($id: ID!, $reason: String) {\n    cancelTask(id: $id, reason: $reason) {\n      ...TaskFields\n    }\n  }\n": typeof types.CancelTaskDocument,
    "\n  fragment OutputFields on TaskOutput {\n    seq\n    stream\n    data\n  }\n": typeof types.OutputFieldsFragmentDoc,
    "\n  subscription TaskOutput($id: ID!, $after: Int) {\n    taskOutput(id: $id, after: $after) {\n      ...OutputFields\n    }\n  }\n": typeof types.TaskOutputDocument,
    "\n  query AwaitTaskOutput($id: ID!, $after: Int, $timeout: Float) {\n    awaitTaskOutput(id: $id, after: $after, timeout: $timeout) {\n      ...OutputFields\n    }\n    task(id: $id) {\n      id\n      done\n      outputSeq\n    }\n  }\n": typeof types.AwaitTaskOutputDocument,
};
const documents: Documents = {
    "\n  fragment TaskFields on Task {\n    id\n    kind\n    tags\n    status\n    done\n    progress\n    message\n    input\n    result\n    error {\n      message\n      code\n    }\n    attempts\n    maxAttempts\n    revision\n    createdAt\n    updatedAt\n    startedAt\n    completedAt\n  }\n": types.TaskFieldsFragmentDoc,
    "\n  query Tasks($status: TaskStatus, $kind: String, $tag: String, $first: Int, $after: String) {\n    tasks(status: $status, kind: $kind, tag: $tag, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      changesCursor\n    }\n  }\n": types.TasksDocument,
    "\n  subscription TaskChanges($filter: TaskFilter, $after: String) {\n    taskChanges(filter: $filter, after: $after) {\n      cursor\n      task {\n        ...TaskFields\n      }\n    }\n  }\n": types.TaskChangesDocument,
    "\n  query AwaitTaskChanges($filter: TaskFilter, $after: String!, $timeout: Float) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout) {\n      cursor\n      changes {\n        cursor\n        task {\n          ...TaskFields\n        }\n      }\n    }\n  }\n": types.AwaitTaskChangesDocument,
    "\n  mutation CreateTask($kind: String!, $input: JSON, $maxAttempts: Int) {\n    createTask(kind: $kind, input: $input, maxAttempts: $maxAttempts) {\n      ...TaskFields\n    }\n  }\n": types.CreateTaskDocument,
    "\n  mutation CancelTask($id: ID!, $reason: String) {\n    cancelTask(id: $id, reason: $reason) {\n      ...TaskFields\n    }\n  }\n": types.CancelTaskDocument,
    "\n  fragment OutputFields on TaskOutput {\n    seq\n    stream\n    data\n  }\n": types.OutputFieldsFragmentDoc,
    "\n  subscription TaskOutput($id: ID!, $after: Int) {\n    taskOutput(id: $id, after: $after) {\n      ...OutputFields\n    }\n  }\n": types.TaskOutputDocument,
    "\n  query AwaitTaskOutput($id: ID!, $after: Int, $timeout: Float) {\n    awaitTaskOutput(id: $id, after: $after, timeout: $timeout) {\n      ...OutputFields\n    }\n    task(id: $id) {\n      id\n      done\n      outputSeq\n    }\n  }\n": types.AwaitTaskOutputDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TaskFields on Task {\n    id\n    kind\n    tags\n    status\n    done\n    progress\n    message\n    input\n    result\n    error {\n      message\n      code\n    }\n    attempts\n    maxAttempts\n    revision\n    createdAt\n    updatedAt\n    startedAt\n    completedAt\n  }\n"): (typeof documents)["\n  fragment TaskFields on Task {\n    id\n    kind\n    tags\n    status\n    done\n    progress\n    message\n    input\n    result\n    error {\n      message\n      code\n    }\n    attempts\n    maxAttempts\n    revision\n    createdAt\n    updatedAt\n    startedAt\n    completedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Tasks($status: TaskStatus, $kind: String, $tag: String, $first: Int, $after: String) {\n    tasks(status: $status, kind: $kind, tag: $tag, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      changesCursor\n    }\n  }\n"): (typeof documents)["\n  query Tasks($status: TaskStatus, $kind: String, $tag: String, $first: Int, $after: String) {\n    tasks(status: $status, kind: $kind, tag: $tag, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...TaskFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      changesCursor\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskChanges($filter: TaskFilter, $after: String) {\n    taskChanges(filter: $filter, after: $after) {\n      cursor\n      task {\n        ...TaskFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription TaskChanges($filter: TaskFilter, $after: String) {\n    taskChanges(filter: $filter, after: $after) {\n      cursor\n      task {\n        ...TaskFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AwaitTaskChanges($filter: TaskFilter, $after: String!, $timeout: Float) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout) {\n      cursor\n      changes {\n        cursor\n        task {\n          ...TaskFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AwaitTaskChanges($filter: TaskFilter, $after: String!, $timeout: Float) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout) {\n      cursor\n      changes {\n        cursor\n        task {\n          ...TaskFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateTask($kind: String!, $input: JSON, $maxAttempts: Int) {\n    createTask(kind: $kind, input: $input, maxAttempts: $maxAttempts) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateTask($kind: String!, $input: JSON, $maxAttempts: Int) {\n    createTask(kind: $kind, input: $input, maxAttempts: $maxAttempts) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelTask($id: ID!, $reason: String) {\n    cancelTask(id: $id, reason: $reason) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelTask($id: ID!, $reason: String) {\n    cancelTask(id: $id, reason: $reason) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OutputFields on TaskOutput {\n    seq\n    stream\n    data\n  }\n"): (typeof documents)["\n  fragment OutputFields on TaskOutput {\n    seq\n    stream\n    data\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription TaskOutput($id: ID!, $after: Int) {\n    taskOutput(id: $id, after: $after) {\n      ...OutputFields\n    }\n  }\n"): (typeof documents)["\n  subscription TaskOutput($id: ID!, $after: Int) {\n    taskOutput(id: $id, after: $after) {\n      ...OutputFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AwaitTaskOutput($id: ID!, $after: Int, $timeout: Float) {\n    awaitTaskOutput(id: $id, after: $after, timeout: $timeout) {\n      ...OutputFields\n    }\n    task(id: $id) {\n      id\n      done\n      outputSeq\n    }\n  }\n"): (typeof documents)["\n  query AwaitTaskOutput($id: ID!, $after: Int, $timeout: Float) {\n    awaitTaskOutput(id: $id, after: $after, timeout: $timeout) {\n      ...OutputFields\n    }\n    task(id: $id) {\n      id\n      done\n      outputSeq\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;