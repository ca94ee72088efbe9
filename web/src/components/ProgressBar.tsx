import type { TaskStatus } from '../gql/graphql';

/**
 * An accessible progress bar: role=progressbar with aria-valuenow, coloured by status. A task queued
 * again after a failed attempt keeps that attempt's progress, and the bar says it is the last attempt's.
 */
export function ProgressBar({ value, status, retrying, label }: { value: number; status: TaskStatus; retrying: boolean; label: string }) {
  const percent = Math.max(0, Math.min(100, Math.round(value)));
  const valueText = retrying ? `${percent} % in the last attempt, queued to retry` : `${percent} %, ${status.toLowerCase()}`;
  return (
    <div className="progress">
      <div
        className={`progress__track progress__track--${status.toLowerCase()}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={valueText}
        data-testid="task-progress"
      >
        <div className="progress__fill" style={{ width: `${percent}%` }} />
      </div>
      <span className="progress__value" aria-hidden="true">
        {percent} %
      </span>
    </div>
  );
}
