import { useMutation } from '@apollo/client/react';
import { useId } from 'react';
import { formatDuration, formatJson, formatTime, shortId } from '../format';
import type { TaskFieldsFragment } from '../gql/graphql';
import { useFollowTask, useNow, type FollowState } from '../live';
import { CANCEL_TASK } from '../operations';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';

const FOLLOW_TEXT: Record<FollowState, string> = {
  connecting: 'connecting…',
  websocket: 'live (WebSocket)',
  'long-polling': 'live (long-polling)',
  final: 'final',
};

/** One task: kept current by useFollowTask while it is not final. */
export function TaskCard({ task }: { task: TaskFieldsFragment }) {
  const follow = useFollowTask(task);
  const titleId = useId();
  const now = useNow(!task.done);
  const [cancel, cancelling] = useMutation(CANCEL_TASK);

  const label = `${task.kind} ${shortId(task.id)}`;
  const retried = task.status === 'QUEUED' && task.error;
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
          {task.kind}
        </h2>
        <StatusBadge status={task.status} />
      </header>
      <div className="task__meta">
        <span className="task__id" title={task.id}>
          #{shortId(task.id)}
        </span>
        <span>
          attempt {task.attempts} of {task.maxAttempts}
        </span>
        <span>rev {task.revision}</span>
        <span className={`task__follow task__follow--${follow}`} data-testid="task-follow" data-follow={follow}>
          {FOLLOW_TEXT[follow]}
        </span>
      </div>

      <ProgressBar value={task.progress} status={task.status} label={`Progress of ${label}`} />
      <p className="task__message" data-testid="task-message">
        {task.message ?? <span className="muted">{task.status === 'QUEUED' ? 'Waiting for a worker…' : 'No message'}</span>}
      </p>

      <dl className="task__times" data-testid="task-timings">
        <Time label="Created" iso={task.createdAt} />
        <Time label="Started" iso={task.startedAt} />
        <Time label="Completed" iso={task.completedAt} />
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
        <div className={`task__error${retried ? ' task__error--retry' : ''}`} data-testid="task-error">
          <strong>{retried ? 'Last attempt failed' : task.status === 'CANCELLED' ? 'Cancelled' : 'Failed'}</strong>
          {task.error.code && <code>{task.error.code}</code>}
          <span>{task.error.message}</span>
        </div>
      )}

      <footer className="task__foot">
        {task.input != null ? (
          <details className="task__input">
            <summary>Input</summary>
            <pre>{formatJson(task.input)}</pre>
          </details>
        ) : (
          <span />
        )}
        {!task.done && (
          <button
            type="button"
            className="button button--quiet"
            disabled={cancelling.loading}
            // A refusal (the task just finished, say) shows below the button.
            onClick={() => void cancel({ variables: { id: task.id, reason: 'cancelled from the dashboard' } }).catch(() => {})}
            aria-label={`Cancel ${label}`}
          >
            Cancel
          </button>
        )}
        {cancelling.error && (
          <span className="task__cancel-error" role="alert">
            Could not cancel: {cancelling.error.message}
          </span>
        )}
      </footer>
    </article>
  );
}

function Time({ label, iso }: { label: string; iso: string | null }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{iso ? <time dateTime={iso}>{formatTime(iso)}</time> : <span className="muted">—</span>}</dd>
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
