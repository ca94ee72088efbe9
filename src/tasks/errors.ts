/** The codes a domain error carries to clients (`extensions.code` in GraphQL, `error.code` in REST). */
export type TaskErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'LEASE_MISMATCH'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN';

/** A refused request: the message is safe to show to the caller; nothing was changed. */
export class DomainError extends Error {
  /** `{ code }`, where GraphQL errors carry it: graphql-js copies an original error's `extensions`. */
  readonly extensions: { code: TaskErrorCode; [key: string]: unknown };

  constructor(
    readonly code: TaskErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
    this.extensions = { code };
  }
}

export const badInput = (message: string) => new DomainError('BAD_USER_INPUT', message);
export const notFound = (id: string) => new DomainError('NOT_FOUND', `No task with id "${truncate(id)}".`);
export const invalidTransition = (message: string) => new DomainError('INVALID_TRANSITION', message);
export const leaseMismatch = (message: string) => new DomainError('LEASE_MISMATCH', message);
export const resourceExhausted = (message: string) => new DomainError('RESOURCE_EXHAUSTED', message);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);

function truncate(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}
