import { NoSchemaIntrospectionCustomRule, type ExecutionResult, type GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from '../tasks/errors.js';
import type { GraphQLContext } from './context.js';

/**
 * graphql-js reports a variable that does not coerce (a timeout of "abc", or 1e309, which JSON
 * reads as Infinity) with no `extensions.code`; clients are promised BAD_USER_INPUT.
 */
export function useVariableErrorCodes(): Plugin {
  // Made once, not per operation: envelop holds an operation's hooks until it ends (a held awaitTask).
  const label = ({ result }: { result: unknown }) => {
    if (!isAsyncIterable(result)) labelVariableErrors((result as ExecutionResult).errors ?? []);
  };
  const onExecuteHooks = { onExecuteDone: label };
  const onSubscribeHooks = { onSubscribeResult: label };
  return {
    onExecute: () => onExecuteHooks,
    onSubscribe: () => onSubscribeHooks,
  };
}

/** Gives graphql-js's variable coercion errors the code BAD_USER_INPUT. */
export function labelVariableErrors(errors: readonly GraphQLError[]): void {
  for (const error of errors) {
    if (error.extensions.code === undefined && error.message.startsWith('Variable "$')) {
      (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
    }
  }
}

/** Rejects introspection queries (`INTROSPECTION=false`). */
export function useNoIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
  };
}

/**
 * Logs each error a resolver threw that is not a DomainError (the ones clients see only as
 * "Unexpected error."), with its request's id, operation and path, before Yoga masks it;
 * `logged` tells Yoga's logger not to log it a second time without them.
 */
export function useUnexpectedErrorLog(log: Logger, logged: WeakSet<object>): Plugin {
  const logUnexpected = (result: ExecutionResult, context: Partial<GraphQLContext>, operationName: string | null | undefined) => {
    for (const error of result.errors ?? []) {
      if (!error.originalError || error.originalError instanceof DomainError || 'extensions' in error.originalError) continue;
      logged.add(error);
      log.error({ err: error.originalError, reqId: context.trace?.id, operationName, path: error.path?.join('.') }, 'unexpected error in a resolver');
    }
  };
  // Made once: the done and result hooks get the operation's args themselves.
  type Done = { result: unknown; args: { contextValue: unknown; operationName?: string | null } };
  const logFrom = ({ result, args }: Done) => {
    if (!isAsyncIterable(result)) logUnexpected(result as ExecutionResult, args.contextValue as Partial<GraphQLContext>, args.operationName);
  };
  const onExecuteHooks = { onExecuteDone: logFrom };
  const onSubscribeHooks = { onSubscribeResult: logFrom };
  return {
    onExecute: () => onExecuteHooks,
    onSubscribe: () => onSubscribeHooks,
  };
}
