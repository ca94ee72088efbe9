import { Fragment, type ReactNode } from 'react';

/** Short, readable times and durations for the task cards. */

const dateAndTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
});
const withYear = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
});

/** "6 Dec, 14:03:07 UTC" in the browser's time zone (24-hour clock); the year when it is not this one. */
export function formatTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  return (date.getFullYear() === now.getFullYear() ? dateAndTime : withYear).format(date);
}

/** "just now", "42 s ago", "3 min 12 s ago", "2 h 5 min ago", "3 days ago". */
export function formatAgo(iso: string, now: number): string {
  const ms = now - new Date(iso).getTime();
  if (ms < 5_000) return 'just now';
  const days = Math.floor(ms / 86_400_000);
  if (days >= 2) return `${days} days ago`;
  return `${formatDuration(ms)} ago`;
}

/** 850 ms, 5.2 s, 42 s, 3 min 12 s, 2 h 5 min. */
export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1_000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(-8) : id;
}

export function formatJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** A kind like `reports.monthly-summary` with line-break chances after its dots, dashes and slashes, never mid-word. */
export function breakable(kind: string): ReactNode {
  const parts = kind.split(/(?<=[._:/-])/);
  return parts.map((part, index) => (
    <Fragment key={index}>
      {index > 0 && <wbr />}
      {part}
    </Fragment>
  ));
}
