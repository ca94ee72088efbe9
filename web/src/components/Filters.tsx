import type { TaskStatus } from '../gql/graphql';
import { STATUSES, statusLabel } from './StatusBadge';

export interface FilterValues {
  status: TaskStatus | '';
  kind: string;
  tag: string;
}

/** Status, kind and tag filters for the list (the service matches kinds and tags exactly). */
export function Filters({ value, onChange }: { value: FilterValues; onChange: (next: FilterValues) => void }) {
  return (
    <form className="filters" role="search" aria-label="Filter tasks" onSubmit={(event) => event.preventDefault()}>
      <label className="field">
        <span className="field__label">Status</span>
        <select
          value={value.status}
          onChange={(event) => onChange({ ...value, status: event.target.value as TaskStatus | '' })}
          data-testid="filter-status"
        >
          <option value="">All statuses</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {statusLabel(status)}
            </option>
          ))}
        </select>
      </label>
      <ExactFilter label="Kind" example="demo.report" value={value.kind} onChange={(kind) => onChange({ ...value, kind })} testId="filter-kind" />
      <ExactFilter label="Tag" example="team:ops" value={value.tag} onChange={(tag) => onChange({ ...value, tag })} testId="filter-tag" />
    </form>
  );
}

/** A text filter the service matches exactly (no prefix, no pattern): the label says so. */
function ExactFilter({ label, example, value, onChange, testId }: { label: string; example: string; value: string; onChange: (next: string) => void; testId: string }) {
  return (
    <label className="field">
      <span className="field__label">{label} (exact)</span>
      <input type="search" placeholder={`e.g. ${example}`} value={value} onChange={(event) => onChange(event.target.value)} data-testid={testId} spellCheck={false} />
    </label>
  );
}
