import { badInput } from './errors.js';
import type { ListPosition } from './store.js';
import type { Task } from './task.js';

/** The cursor of a task in a newest-first listing: opaque to clients. */
export function encodeCursor(task: Task): string {
  return Buffer.from(`seq:${task.seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): ListPosition {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match) return { seq: Number(match[1]) };
  throw badInput('after is not a cursor from this listing.');
}
