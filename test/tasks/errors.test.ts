/**
 * Domain errors as clients see them: the code reaches GraphQL's `extensions.code`, and a
 * NOT_FOUND message names the id asked about, printable and bounded whatever the id.
 */
import { GraphQLError, locatedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { badInput, DomainError, forbidden, invalidTransition, leaseMismatch, notFound, resourceExhausted, statusOf, unauthenticated, type TaskErrorCode } from '../../src/tasks/errors.js';
import { queueFull } from '../../src/tasks/quotas.js';

describe('domain errors', () => {
  it('carry their code where graphql-js puts an error it did not make: extensions.code', () => {
    for (const [error, code] of [
      [badInput('bad'), 'BAD_USER_INPUT'],
      [notFound('x'), 'NOT_FOUND'],
      [invalidTransition('no'), 'INVALID_TRANSITION'],
      [leaseMismatch('not yours'), 'LEASE_MISMATCH'],
      [resourceExhausted('full'), 'RESOURCE_EXHAUSTED'],
      [forbidden('client'), 'FORBIDDEN'],
    ] as const) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error.code).toBe(code);
      const located = locatedError(error, undefined, ['task']);
      expect(located).toBeInstanceOf(GraphQLError);
      expect(located.extensions.code).toBe(code);
      expect(located.message).toBe(error.message);
    }
  });

  it('NOT_FOUND names the id asked about', () => {
    expect(notFound('task-42').message).toContain('"task-42"');
  });

  it('NOT_FOUND shows no control characters of the id, and keeps the rest', () => {
    const message = notFound('a\nb\u0000c\u001bd\u00e9').message;
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
    expect(message).toMatch(/a.b.c.d./);
  });

  it('NOT_FOUND stays short for a huge id: its start, then an ellipsis', () => {
    const id = 'x'.repeat(10_000);
    const message = notFound(id).message;
    expect(message.length).toBeLessThan(200);
    expect(message).toContain('x'.repeat(32));
    expect(message).toContain('…');
    expect(notFound('short').message).not.toContain('…');
  });

  it('statusOf gives each code its HTTP status, the one REST answers with', () => {
    const expected: Record<TaskErrorCode, number> = {
      BAD_USER_INPUT: 400,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      INVALID_TRANSITION: 409,
      LEASE_MISMATCH: 409,
      RESOURCE_EXHAUSTED: 429,
    };
    for (const [code, status] of Object.entries(expected)) expect([code, statusOf(code as TaskErrorCode)]).toEqual([code, status]);
  });

  it('unauthenticated() is the one refusal of a missing or unknown key: UNAUTHENTICATED, naming the header to send', () => {
    const error = unauthenticated();
    expect(error).toBeInstanceOf(DomainError);
    expect([error.code, error.message]).toEqual(['UNAUTHENTICATED', 'A valid API key is required: Authorization: Bearer <key>.']);
  });

  it('a domain error that wraps another keeps it as its cause', () => {
    const cause = new URIError('URI malformed');
    expect(new DomainError('NOT_FOUND', 'No task with that id.', { cause }).cause).toBe(cause);
  });

  it('a quota refusal is named after its class, and is still a DomainError', () => {
    const error = queueFull(3);
    expect(error.name).toBe('QuotaError');
    expect(error).toBeInstanceOf(DomainError);
    expect(String(error)).toMatch(/^QuotaError: /);
  });
});
