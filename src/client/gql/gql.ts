/* eslint-disable */
import * as types from './graphql.js';



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
    "\n  fragment FollowedTask on Task {\n    id kind status done progress message result error { message code details }\n    attempts maxAttempts revision createdAt updatedAt startedAt completedAt\n  }\n": typeof types.FollowedTaskFragmentDoc,
    "\n  subscription FollowTask($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { ...FollowedTask } }\n": typeof types.FollowTaskDocument,
    "\n  query AwaitTask($id: ID!, $after: Int, $timeout: Float) { awaitTask(id: $id, afterRevision: $after, timeout: $timeout) { ...FollowedTask } }\n": typeof types.AwaitTaskDocument,
    "\n  fragment FollowedOutput on TaskOutput { seq stream data at }\n": typeof types.FollowedOutputFragmentDoc,
    "\n  subscription FollowOutput($id: ID!, $after: Int) { taskOutput(id: $id, after: $after) { ...FollowedOutput } }\n": typeof types.FollowOutputDocument,
    "\n  query AwaitOutput($id: ID!, $after: Int, $timeout: Float) { awaitTaskOutput(id: $id, after: $after, timeout: $timeout) { ...FollowedOutput } }\n": typeof types.AwaitOutputDocument,
    "\n  query OutputEnd($id: ID!) { task(id: $id) { done outputSeq } }\n": typeof types.OutputEndDocument,
    "\n  fragment FollowedChange on TaskChange { cursor task { ...FollowedTask tags } }\n": typeof types.FollowedChangeFragmentDoc,
    "\n  subscription FollowChanges($filter: TaskFilter, $after: String) { taskChanges(filter: $filter, after: $after) { ...FollowedChange } }\n": typeof types.FollowChangesDocument,
    "\n  query ReadChanges($filter: TaskFilter, $after: String, $first: Int) { taskChanges(filter: $filter, after: $after, first: $first) { cursor changes { ...FollowedChange } } }\n": typeof types.ReadChangesDocument,
    "\n  query AwaitChanges($filter: TaskFilter, $after: String!, $timeout: Float, $first: Int) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout, first: $first) { cursor changes { ...FollowedChange } }\n  }\n": typeof types.AwaitChangesDocument,
};
const documents: Documents = {
    "\n  fragment FollowedTask on Task {\n    id kind status done progress message result error { message code details }\n    attempts maxAttempts revision createdAt updatedAt startedAt completedAt\n  }\n": types.FollowedTaskFragmentDoc,
    "\n  subscription FollowTask($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { ...FollowedTask } }\n": types.FollowTaskDocument,
    "\n  query AwaitTask($id: ID!, $after: Int, $timeout: Float) { awaitTask(id: $id, afterRevision: $after, timeout: $timeout) { ...FollowedTask } }\n": types.AwaitTaskDocument,
    "\n  fragment FollowedOutput on TaskOutput { seq stream data at }\n": types.FollowedOutputFragmentDoc,
    "\n  subscription FollowOutput($id: ID!, $after: Int) { taskOutput(id: $id, after: $after) { ...FollowedOutput } }\n": types.FollowOutputDocument,
    "\n  query AwaitOutput($id: ID!, $after: Int, $timeout: Float) { awaitTaskOutput(id: $id, after: $after, timeout: $timeout) { ...FollowedOutput } }\n": types.AwaitOutputDocument,
    "\n  query OutputEnd($id: ID!) { task(id: $id) { done outputSeq } }\n": types.OutputEndDocument,
    "\n  fragment FollowedChange on TaskChange { cursor task { ...FollowedTask tags } }\n": types.FollowedChangeFragmentDoc,
    "\n  subscription FollowChanges($filter: TaskFilter, $after: String) { taskChanges(filter: $filter, after: $after) { ...FollowedChange } }\n": types.FollowChangesDocument,
    "\n  query ReadChanges($filter: TaskFilter, $after: String, $first: Int) { taskChanges(filter: $filter, after: $after, first: $first) { cursor changes { ...FollowedChange } } }\n": types.ReadChangesDocument,
    "\n  query AwaitChanges($filter: TaskFilter, $after: String!, $timeout: Float, $first: Int) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout, first: $first) { cursor changes { ...FollowedChange } }\n  }\n": types.AwaitChangesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment FollowedTask on Task {\n    id kind status done progress message result error { message code details }\n    attempts maxAttempts revision createdAt updatedAt startedAt completedAt\n  }\n"): typeof import('./graphql.js').FollowedTaskFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription FollowTask($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { ...FollowedTask } }\n"): typeof import('./graphql.js').FollowTaskDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AwaitTask($id: ID!, $after: Int, $timeout: Float) { awaitTask(id: $id, afterRevision: $after, timeout: $timeout) { ...FollowedTask } }\n"): typeof import('./graphql.js').AwaitTaskDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment FollowedOutput on TaskOutput { seq stream data at }\n"): typeof import('./graphql.js').FollowedOutputFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription FollowOutput($id: ID!, $after: Int) { taskOutput(id: $id, after: $after) { ...FollowedOutput } }\n"): typeof import('./graphql.js').FollowOutputDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AwaitOutput($id: ID!, $after: Int, $timeout: Float) { awaitTaskOutput(id: $id, after: $after, timeout: $timeout) { ...FollowedOutput } }\n"): typeof import('./graphql.js').AwaitOutputDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OutputEnd($id: ID!) { task(id: $id) { done outputSeq } }\n"): typeof import('./graphql.js').OutputEndDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment FollowedChange on TaskChange { cursor task { ...FollowedTask tags } }\n"): typeof import('./graphql.js').FollowedChangeFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription FollowChanges($filter: TaskFilter, $after: String) { taskChanges(filter: $filter, after: $after) { ...FollowedChange } }\n"): typeof import('./graphql.js').FollowChangesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ReadChanges($filter: TaskFilter, $after: String, $first: Int) { taskChanges(filter: $filter, after: $after, first: $first) { cursor changes { ...FollowedChange } } }\n"): typeof import('./graphql.js').ReadChangesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AwaitChanges($filter: TaskFilter, $after: String!, $timeout: Float, $first: Int) {\n    awaitTaskChanges(filter: $filter, after: $after, timeout: $timeout, first: $first) { cursor changes { ...FollowedChange } }\n  }\n"): typeof import('./graphql.js').AwaitChangesDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
