import { badInput } from './errors.js';
import type { FeedFilter } from './feeds.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-depth.js';
import { TASK_STATUSES } from './task.js';

/*
 * Every check of a caller's input that is not a rule of the state machine (those are in
 * task.ts), one message per rule, for GraphQL and REST alike.
 */

/** Longest id, kind, worker id or idempotency key we store; longer ones are refused or unknown. */
export const MAX_NAME_LENGTH = 256;
export const MAX_MESSAGE_LENGTH = 10_000;
export const MAX_PAGE_SIZE = 100;
/** Most kinds one `claimTask` may name. */
export const MAX_CLAIM_KINDS = 100;
export const MAX_TAGS = 16;
const TAG = /^[A-Za-z0-9_.:\/-]{1,64}$/;

/** An id that could name a stored task; any other is simply unknown. */
export const isValidId = (id: string): boolean => id.length > 0 && id.length <= MAX_NAME_LENGTH && !id.includes('\u0000');

/** A long-poll's timeout in seconds, clamped to `maxSeconds`; returns milliseconds. */
export function checkTimeout(timeoutSeconds: number, maxSeconds: number): number {
  if (typeof timeoutSeconds !== 'number' || !Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
    throw badInput('timeout must be a finite number of seconds, 0 or more.');
  }
  return Math.min(timeoutSeconds, maxSeconds) * 1000;
}

/** A page's `first`: an integer from 0 to `max` (a list of tasks takes MAX_PAGE_SIZE, a feed MAX_FEED_PAGE_SIZE). */
export function checkPageSize(first: number, max = MAX_PAGE_SIZE): void {
  if (!Number.isInteger(first) || first < 0 || first > max) throw badInput(`first must be an integer from 0 to ${max}.`);
}

export function checkKinds(kinds: readonly string[] | null | undefined): void {
  if (kinds && kinds.length > MAX_CLAIM_KINDS) throw badInput(`kinds may name at most ${MAX_CLAIM_KINDS} kinds.`);
  kinds?.forEach((kind) => checkName('kinds', kind));
}

/** A task's tags: at most MAX_TAGS, each 1 to 64 letters, digits and `_.:/-`; returned without duplicates, in the order given. */
export function checkTags(tags: readonly string[] | null | undefined): string[] {
  const unique = [...new Set(tags ?? [])];
  if (unique.length > MAX_TAGS) throw badInput(`tags may hold at most ${MAX_TAGS} different tags.`);
  for (const tag of unique) checkTag(tag);
  return unique;
}

export function checkTag(tag: string): void {
  if (!TAG.test(tag)) throw badInput('a tag must be 1 to 64 characters of letters, digits and _.:/-');
}

/** A feed's filter: its kinds as `claimTask`'s, at most MAX_CLAIM_KINDS tags, and statuses that are task statuses. */
export function checkFeedFilter(filter: FeedFilter | null | undefined): void {
  checkKinds(filter?.kinds);
  if (filter?.tags && filter.tags.length > MAX_CLAIM_KINDS) throw badInput(`tags may name at most ${MAX_CLAIM_KINDS} tags.`);
  filter?.tags?.forEach(checkTag);
  for (const status of filter?.statuses ?? []) {
    if (!(TASK_STATUSES as readonly string[]).includes(status)) throw badInput(`statuses: ${String(status)} is not a task status.`);
  }
}

export function checkName(field: string, value: string): void {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw badInput(`${field} must be 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  checkText(field, value);
}

/** A message or reason: at most MAX_MESSAGE_LENGTH characters of storable text (`checkStorableText`). */
export function checkText(field: string, value: string): void {
  if (value.length > MAX_MESSAGE_LENGTH) throw badInput(`${field} must be at most ${MAX_MESSAGE_LENGTH} characters.`);
  checkStorableText(field, value);
}

/**
 * Text either engine can store, whatever its length. PostgreSQL's text cannot hold NUL, so no
 * engine stores it: refused alike on both. Nor can either hold a lone UTF-16 surrogate (JSON
 * may escape one, "\ud800"): stored, it would read back as U+FFFD.
 */
export function checkStorableText(field: string, value: string): void {
  if (value.includes('\u0000')) throw badInput(`${field} must not contain NUL characters.`);
  if (LONE_SURROGATE.test(value)) throw badInput(`${field} must be Unicode text: it has a lone surrogate.`);
}

/** A lone UTF-16 surrogate, which neither engine can store. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Measured for depth before it is serialized: `JSON.stringify` recurses, and a deep value would overflow the stack. */
export function checkPayload(field: string, value: unknown, maxBytes: number): void {
  if (value === undefined || value === null) return;
  if (jsonDepthExceeds(value)) throw badInput(`${field} may nest arrays and objects at most ${MAX_JSON_DEPTH} levels deep.`);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxBytes) throw badInput(`${field} is ${bytes} bytes serialized; the limit is ${maxBytes}.`);
}
