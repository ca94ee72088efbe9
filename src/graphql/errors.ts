import { GraphQLError } from 'graphql';
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
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (error instanceof GraphQLError && original instanceof DomainError) {
    const status = HTTP_STATUS[original.code];
    if (status) error.extensions.http = { status };
    return error;
  }
  return yogaMaskError(error, message, false);
}
