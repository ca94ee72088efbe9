import { useMutation } from '@apollo/client/react';
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { breakable, formatAgo, formatDuration, formatJson, formatTime, shortId } from '../format';
import type { TaskFieldsFragment } from '../gql/graphql';
import { useFollowState, useNow, useTaskOutput } from '../live';
import { CANCEL_TASK } from '../operations';
import { DEMO_KIND } from './CreateTaskButton';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';

/** One task: kept current by the list's change feed (through Apollo's cache) while it is not final. */
export function TaskCard({ task }: { task: TaskFieldsFragment }) {
  const follow = useFollowState(task);
  const titleId = useId();
  // Running times tick every second; "3 min ago" on a final task every half minute.
  const now = useNow(true, task.done ? 30_000 : 1_000);
  const label = `${task.kind} ${shortId(task.id)}`;
  const retrying = task.status === 'QUEUED' && task.attempts > 0;
  return (
    <article
      className={`task task--${task.status.toLowerCase()}`}
      aria-labelledby={titleId}
      data-testid="task-card"
      data-task-id={task.id}
      data-status={task.status}
    >
      <header className="task__head">
        <h2 className="task__kind" id={titleId}>
          {breakable(task.kind)}
        </h2>
        <StatusBadge status={task.status} />
      </header>
      <div className="task__meta">
        <span className="task__id">
          <span className="visually-hidden">Task </span>#{shortId(task.id)}
        </span>
        <span data-testid="task-attempts">{attempts(task)}</span>
        {/* Which transport is the header's to say; a card only says that it is being followed. */}
        <span className={`task__follow task__follow--${follow}`} data-testid="task-follow" data-follow={follow}>
          {follow === 'final' ? null : 'live'}
        </span>
      </div>

      {task.tags.length > 0 && (
        <ul className="task__tags" aria-label="Tags" data-testid="task-tags">
          {task.tags.map((tag) => (
            <li key={tag}>{tag}</li>
          ))}
        </ul>
      )}

      <ProgressBar value={task.progress} status={task.status} retrying={task.status === 'QUEUED' && task.attempts > 0} label={`Progress of ${label}`} />
      <p className="task__message" data-testid="task-message">
        {message(task)}
      </p>

      <dl className="task__times" data-testid="task-timings">
        <Time label="Created" iso={task.createdAt} now={now} />
        <Time label="Started" iso={task.startedAt} now={now} />
        <Time label="Completed" iso={task.completedAt} now={now} />
        <div>
          <dt>Duration</dt>
          <dd data-testid="task-duration">{duration(task, now)}</dd>
        </div>
      </dl>

      {task.status === 'COMPLETED' && task.result != null && (
        <details className="task__result" open>
          <summary>Result</summary>
          <pre data-testid="task-result">{formatJson(task.result)}</pre>
        </details>
      )}
      {task.error && (
        <div className={`task__error${retrying ? ' task__error--retry' : ''}`} data-testid="task-error">
          <strong>{retrying ? 'Last attempt failed' : task.status === 'CANCELLED' ? 'Reason' : 'Failed'}</strong>
          {/* A cancellation's code only repeats the status. */}
          {task.error.code && !(task.status === 'CANCELLED' && task.error.code === 'CANCELLED') && <code>{task.error.code}</code>}
          <span>{task.error.message}</span>
        </div>
      )}

      <TaskOutputLog id={task.id} label={label} />

      <footer className="task__foot">
        {task.input != null ? (
          <details className="task__input">
            <summary>Input</summary>
            <pre>{formatJson(task.input)}</pre>
          </details>
        ) : (
          <span />
        )}
        {!task.done && <CancelTask id={task.id} label={label} />}
      </footer>
    </article>
  );
}

/**
 * The task's output, followed live while the log is open; it keeps to the newest line unless
 * the reader scrolled up.
 */
function TaskOutputLog({ id, label }: { id: string; label: string }) {
  const [open, setOpen] = useState(false);
  const chunks = useTaskOutput(id, open);
  const log = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  useEffect(() => {
    if (atEnd.current && log.current) log.current.scrollTop = log.current.scrollHeight;
  }, [chunks]);

  return (
    <details className="task__output" onToggle={(event) => setOpen(event.currentTarget.open)} data-testid="task-output">
      <summary>Output</summary>
      <pre
        ref={log}
        tabIndex={0}
        aria-label={`Output of ${label}`}
        aria-live="off"
        data-testid="task-output-log"
        onScroll={(event) => {
          const pre = event.currentTarget;
          atEnd.current = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        }}
      >
        {chunks.length === 0 ? (
          <span className="muted">No output yet</span>
        ) : (
          chunks.map((chunk) => (
            <span key={chunk.seq} className={`task__chunk task__chunk--${chunk.stream === 'log' ? 'log' : 'other'}`} data-seq={chunk.seq}>
              {chunk.data}
            </span>
          ))
        )}
      </pre>
    </details>
  );
}

/**
 * Cancel, then confirm: a cancelled task cannot be resumed, so the first press only asks.
 * Escape or "Keep it" backs out and gives the focus back to Cancel.
 */
function CancelTask({ id, label }: { id: string; label: string }) {
  const [cancel, cancelling] = useMutation(CANCEL_TASK);
  const [confirming, setConfirming] = useState(false);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const backedOut = useRef(false);
  useEffect(() => {
    if (!confirming && backedOut.current) cancelButton.current?.focus();
  }, [confirming]);
  const keep = () => {
    backedOut.current = true;
    setConfirming(false);
  };

  return (
    <div className="task__cancel">
      {confirming ? (
        <div className="task__confirm" role="group" aria-label={`Cancel ${label}?`} onKeyDown={(event) => event.key === 'Escape' && keep()}>
          <span>Cancel this task? It cannot be resumed.</span>
          <button
            type="button"
            className="button button--danger"
            autoFocus
            disabled={cancelling.loading}
            data-testid="confirm-cancel"
            // A refusal (the task just finished, say) shows below.
            onClick={() => void cancel({ variables: { id, reason: 'cancelled from the dashboard' } }).catch(() => {})}
          >
            Yes, cancel
          </button>
          <button type="button" className="button button--quiet" onClick={keep}>
            Keep it
          </button>
        </div>
      ) : (
        <button ref={cancelButton} type="button" className="button button--quiet" onClick={() => setConfirming(true)} aria-label={`Cancel ${label}`}>
          Cancel…
        </button>
      )}
      {cancelling.error && (
        <span className="task__cancel-error" role="alert">
          Could not cancel: {cancelling.error.message}
        </span>
      )}
    </div>
  );
}

function attempts(task: TaskFieldsFragment): string {
  const of = `of ${task.maxAttempts}`;
  if (task.attempts === 0) return task.done ? 'never ran' : `up to ${task.maxAttempts} ${task.maxAttempts === 1 ? 'attempt' : 'attempts'}`;
  if (task.status === 'QUEUED') return `${task.attempts} ${of} attempts used`;
  return `attempt ${task.attempts} ${of}`;
}

/** The line under the bar: what the worker last said, or what the state means. */
function message(task: TaskFieldsFragment): ReactNode {
  const muted = (text: string) => <span className="muted">{text}</span>;
  switch (task.status) {
    case 'COMPLETED':
      return muted('Done');
    case 'QUEUED':
      if (task.attempts > 0) {
        const reached = task.message ? ` The last one reached ${Math.round(task.progress)} %: ${task.message}` : '';
        return `Retrying: waiting for a worker to start attempt ${task.attempts + 1} of ${task.maxAttempts}.${reached}`;
      }
      return task.kind === DEMO_KIND ? (
        <span className="muted">
          Waiting for a worker: demo tasks are run by the service started with <code>npm run demo</code>.
        </span>
      ) : (
        muted('Waiting for a worker…')
      );
    case 'RUNNING':
      return task.message ?? muted('No message yet');
    default:
      return task.message ? (
        <>
          <span className="muted">Last message:</span> {task.message}
        </>
      ) : (
        muted('No message')
      );
  }
}

function Time({ label, iso, now }: { label: string; iso: string | null; now: number }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {iso ? (
          <>
            <time dateTime={iso}>{formatTime(iso, new Date(now))}</time> <span className="muted">· {formatAgo(iso, now)}</span>
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </dd>
    </div>
  );
}

/** Running time so far, or from start to end; while queued, how long it has waited. */
function duration(task: TaskFieldsFragment, now: number): string {
  const ms = (iso: string) => new Date(iso).getTime();
  if (task.startedAt && task.completedAt) return formatDuration(ms(task.completedAt) - ms(task.startedAt));
  if (task.completedAt) return '—';
  if (task.status === 'RUNNING' && task.startedAt) return `${formatDuration(now - ms(task.startedAt))} so far`;
  if (task.status === 'QUEUED') return `queued ${formatDuration(now - ms(task.createdAt))}`;
  return '—';
}
