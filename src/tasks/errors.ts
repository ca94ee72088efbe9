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
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DomainError';
    this.extensions = { code };
  }
}

const STATUS: Record<TaskErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  LEASE_MISMATCH: 409,
  RESOURCE_EXHAUSTED: 429,
};

/** The HTTP status that answers a refusal with this code, on every transport that has one. */
export const statusOf = (code: TaskErrorCode): number => STATUS[code];

export const badInput = (message: string) => new DomainError('BAD_USER_INPUT', message);
export const notFound = (id: string) => new DomainError('NOT_FOUND', `No task with id "${truncate(id)}".`);
export const invalidTransition = (message: string) => new DomainError('INVALID_TRANSITION', message);
export const leaseMismatch = (message: string) => new DomainError('LEASE_MISMATCH', message);
export const resourceExhausted = (message: string) => new DomainError('RESOURCE_EXHAUSTED', message);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
/** A request without a valid API key, whichever transport it came by. */
export const unauthenticated = () => new DomainError('UNAUTHENTICATED', 'A valid API key is required: Authorization: Bearer <key>.');

function truncate(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}
