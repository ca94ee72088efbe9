import { useEffect, useState } from 'react';
import { CreateTaskButton, DEMO_KIND } from './components/CreateTaskButton';
import { Filters, type FilterValues } from './components/Filters';
import { TaskList } from './components/TaskList';
import { FallbackNotice, TransportBadge } from './components/TransportBadge';

export function App() {
  const [filters, setFilters] = useState<FilterValues>({ status: '', kind: '', tag: '' });
  const kind = useDebounced(filters.kind.trim(), 300);
  const tag = useDebounced(filters.tag.trim(), 300);

  return (
    <div className="app">
      <header className="topbar">
        <div className="topbar__inner">
          <div className="brand">
            <span className="brand__mark" aria-hidden="true" />
            <div>
              <h1 className="brand__name">Task status API</h1>
              <p className="brand__sub">Live dashboard</p>
            </div>
          </div>
          <nav className="topbar__nav" aria-label="Service">
            <TransportBadge />
            <a className="topbar__link" href="/graphql">
              GraphiQL
            </a>
          </nav>
        </div>
      </header>

      <main className="content">
        <FallbackNotice />
        <div className="toolbar">
          <Filters value={filters} onChange={setFilters} />
          <CreateTaskButton />
        </div>
        <TaskList status={filters.status || undefined} kind={kind || undefined} tag={tag || undefined} />
      </main>

      <footer className="page-foot">
        <p>
          Tasks update live, and tasks created elsewhere join the list as they are made. Tasks
          of kind <code>{DEMO_KIND}</code> are run by the built-in demo worker (<code>npm run demo</code>).
        </p>
      </footer>
    </div>
  );
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}
