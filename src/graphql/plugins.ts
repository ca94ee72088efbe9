import { NoSchemaIntrospectionCustomRule, type GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * graphql-js reports a variable that does not coerce (a timeout of "abc", or 1e309, which JSON
 * reads as Infinity) with no `extensions.code`; clients are promised BAD_USER_INPUT.
 */
export function useVariableErrorCodes(): Plugin {
  const label = (errors: readonly GraphQLError[] | undefined) => labelVariableErrors(errors ?? []);
  return {
    onExecute: () => ({
      onExecuteDone: ({ result }) => {
        if (!isAsyncIterable(result)) label(result.errors);
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result }) => {
        if (!isAsyncIterable(result)) label(result.errors);
      },
    }),
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

