import type { TaskStatus } from '../gql/graphql';

const LABELS: Record<TaskStatus, string> = {
  QUEUED: 'Queued',
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

export const STATUSES = Object.keys(LABELS) as TaskStatus[];

export function statusLabel(status: TaskStatus): string {
  return LABELS[status];
}

export function StatusBadge({ status }: { status: TaskStatus }) {
  return (
    <span className={`status status--${status.toLowerCase()}`} data-testid="task-status" data-status={status}>
      {LABELS[status]}
    </span>
  );
}
