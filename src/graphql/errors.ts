import type { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { DomainError } from '../tasks/errors.js';

const HTTP_STATUS: Partial<Record<DomainError['code'], number>> = {
  UNAUTHENTICATED: 401,
  RESOURCE_EXHAUSTED: 429,
};

/**
 * Yoga's maskError. A domain error passes through as it is (graphql-js has copied its
 * `extensions.code`), with the HTTP status where one applies; anything else is masked as
 * "Unexpected error." with no stack in any mode, and Yoga logs the original.
 */
export function maskError(error: unknown, message: string): Error {
  if (isLocatedDomainError(error)) {
    const status = HTTP_STATUS[error.originalError.code];
    if (status) error.extensions.http = { status };
    return error;
  }
  return yogaMaskError(error, message, false);
}

/**
 * A resolver's DomainError as graphql-js wraps it. Duck-typed: under test runners graphql's
 * CommonJS and ESM builds can both load, each with its own GraphQLError class.
 */
function isLocatedDomainError(error: unknown): error is GraphQLError & { originalError: DomainError } {
  return error instanceof Error && 'extensions' in error && (error as GraphQLError).originalError instanceof DomainError;
}
