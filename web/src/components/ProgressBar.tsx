import type { TaskStatus } from '../gql/graphql';

/** An accessible progress bar: role=progressbar with aria-valuenow, coloured by status. */
export function ProgressBar({ value, status, label }: { value: number; status: TaskStatus; label: string }) {
  const percent = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div className="progress">
      <div
        className={`progress__track progress__track--${status.toLowerCase()}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent} %, ${status.toLowerCase()}`}
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
