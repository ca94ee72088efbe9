import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { DomainError, statusOf, type TaskErrorCode } from '../tasks/errors.js';

/**
 * The codes that refuse a GraphQL request as a whole (who asks, how often), and so set the
 * response's HTTP status (`statusOf`). Any other refusal is about one field, among others that
 * may have data: it stays in a 200, as GraphQL over HTTP answers field errors.
 */
const REQUEST_REFUSALS: ReadonlySet<TaskErrorCode> = new Set(['UNAUTHENTICATED', 'RESOURCE_EXHAUSTED']);

/**
 * Yoga's maskError. A domain error passes through as it is (graphql-js has copied its
 * `extensions.code`), with the HTTP status where one applies (and `Retry-After` when it says
 * when to retry: `extensions.retryAfterSeconds`); anything else unexpected is
 * masked as "Unexpected error." with no stack in any mode, and Yoga logs the original.
 */
export function maskError(error: unknown, message: string): Error {
  if (isLocatedDomainError(error)) return withHttpStatus(error, error.originalError);
  const masked = yogaMaskError(error, message, false);
  return isGraphQLError(masked) ? withCode(withoutSuggestions(masked)) : masked;
}

/** A domain error met outside execution (no field, no path), as a GraphQL error that keeps it as `originalError`. */
export function toGraphQLError(error: DomainError): GraphQLError {
  return withHttpStatus(new GraphQLError(error.message, { originalError: error }), error);
}

/** `error`, with the HTTP status (and `Retry-After`) that `refusal` calls for when it refuses the request as a whole. */
function withHttpStatus<T extends GraphQLError>(error: T, { code, extensions }: DomainError): T {
  if (!REQUEST_REFUSALS.has(code)) return error;
  const status = statusOf(code);
  const retryAfter = extensions.retryAfterSeconds;
  error.extensions.http = retryAfter === undefined ? { status } : { status, headers: { 'retry-after': String(retryAfter) } };
  return error;
}

/**
 * graphql-js's suggestions, which name what the schema holds to anyone who misspells it:
 * ` Did you mean "x"?`, `… "x" or "y"?`, `… the enum value "X"?`, `… to use an inline fragment
 * on "T"?` (names never hold a `?`).
 */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Strips every suggestion from the error's message, in place (graphql-armor's own rule only
 * covers field names, and leaves a marker that tells there was one to hide).
 */
export function withoutSuggestions<T extends Error>(error: T): T {
  if (error.message.includes('Did you mean')) error.message = error.message.replace(SUGGESTION, '');
  return error;
}

/**
 * Gives an error that has no `extensions.code` one. graphql-armor's rejections (thrown from
 * validation) and the CSRF check come without; clients are promised a code on every error.
 */
export function withCode<T extends GraphQLError>(error: T): T {
  if (error.extensions.code === undefined) {
    const status = (error.extensions.http as { status?: number } | undefined)?.status;
    (error.extensions as Record<string, unknown>).code = status === 403 ? 'FORBIDDEN' : 'GRAPHQL_VALIDATION_FAILED';
  }
  return error;
}

/**
 * Duck-typed: under test runners graphql's CommonJS and ESM builds can both load, each with
 * its own GraphQLError class.
 */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && typeof (error as GraphQLError).extensions === 'object' && (error as GraphQLError).extensions !== null;
}

/** A resolver's DomainError as graphql-js wraps it. */
function isLocatedDomainError(error: unknown): error is GraphQLError & { originalError: DomainError } {
  return isGraphQLError(error) && error.originalError instanceof DomainError;
}
