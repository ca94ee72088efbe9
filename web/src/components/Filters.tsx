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
      <label className="field">
        <span className="field__label">Kind (exact)</span>
        <input
          type="search"
          placeholder="e.g. demo.report"
          value={value.kind}
          onChange={(event) => onChange({ ...value, kind: event.target.value })}
          data-testid="filter-kind"
          spellCheck={false}
        />
      </label>
      <label className="field">
        <span className="field__label">Tag (exact)</span>
        <input
          type="search"
          placeholder="e.g. team:ops"
          value={value.tag}
          onChange={(event) => onChange({ ...value, tag: event.target.value })}
          data-testid="filter-tag"
          spellCheck={false}
        />
      </label>
    </form>
  );
}
