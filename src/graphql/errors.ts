import type { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { DomainError } from '../tasks/errors.js';

const HTTP_STATUS: Partial<Record<DomainError['code'], number>> = {
  UNAUTHENTICATED: 401,
  RESOURCE_EXHAUSTED: 429,
};

/**
 * Yoga's maskError. A domain error passes through as it is (graphql-js has copied its
 * `extensions.code`), with the HTTP status where one applies (and `Retry-After` when it says
 * when to retry: `extensions.retryAfterSeconds`); anything else unexpected is
 * masked as "Unexpected error." with no stack in any mode, and Yoga logs the original.
 */
export function maskError(error: unknown, message: string): Error {
  if (isLocatedDomainError(error)) {
    const status = HTTP_STATUS[error.originalError.code];
    const retryAfter = error.originalError.extensions.retryAfterSeconds;
    if (status) error.extensions.http = retryAfter === undefined ? { status } : { status, headers: { 'retry-after': String(retryAfter) } };
    return error;
  }
  const masked = yogaMaskError(error, message, false);
  return isGraphQLError(masked) ? withCode(withoutSuggestions(masked)) : masked;
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
