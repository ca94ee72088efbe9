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
};
const documents: Documents = {
    "\n  fragment FollowedTask on Task {\n    id kind status done progress message result error { message code details }\n    attempts maxAttempts revision createdAt updatedAt startedAt completedAt\n  }\n": types.FollowedTaskFragmentDoc,
    "\n  subscription FollowTask($id: ID!, $after: Int) { taskUpdated(id: $id, afterRevision: $after) { ...FollowedTask } }\n": types.FollowTaskDocument,
    "\n  query AwaitTask($id: ID!, $after: Int, $timeout: Float) { awaitTask(id: $id, afterRevision: $after, timeout: $timeout) { ...FollowedTask } }\n": types.AwaitTaskDocument,
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


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
