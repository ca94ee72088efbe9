import { NetworkStatus } from '@apollo/client';
import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { newestFirst, useTaskListFeed, type ListFilters } from '../live';
import { TASKS } from '../operations';
import { TaskCard } from './TaskCard';

const PAGE_SIZE = 12;

/**
 * The `tasks` connection, newest first, with "Load more", kept live by the change feed from
 * the position it was read at: tasks created elsewhere (a worker, another tab) join it at the
 * top, and a task that no longer matches the status filter leaves it.
 */
export function TaskList({ status, kind, tag }: ListFilters) {
  const { data, error, networkStatus, fetchMore } = useQuery(TASKS, {
    variables: { status, kind, tag, first: PAGE_SIZE },
    notifyOnNetworkStatusChange: true,
  });
  const [moreError, setMoreError] = useState<string>();
  const connection = data?.tasks;
  const loadingMore = networkStatus === NetworkStatus.fetchMore;
  const changed = useTaskListFeed({ status, kind, tag }, connection?.changesCursor);

  if (!connection) {
    if (error) return <Problem message={error.message} />;
    return (
      <p className="list-state" data-testid="task-list-loading">
        Loading tasks…
      </p>
    );
  }

  // The listed tasks read from the cache (kept current there); the others the feed brought.
  const listed = connection.edges.map(({ node }) => node);
  const listedIds = new Set(listed.map((task) => task.id));
  const tasks = newestFirst([...changed.filter((task) => !listedIds.has(task.id)), ...listed]).filter((task) => !status || task.status === status);

  const loadMore = () => {
    setMoreError(undefined);
    fetchMore({ variables: { after: connection.pageInfo.endCursor } }).catch((reason: unknown) =>
      setMoreError(reason instanceof Error ? reason.message : String(reason)),
    );
  };

  return (
    <section aria-label="Tasks" className="list" data-testid="task-section" data-filter-status={status ?? ''} data-filter-kind={kind ?? ''} data-filter-tag={tag ?? ''}>
      {error && <Problem message={error.message} />}
      {tasks.length === 0 ? (
        <div className="list-state list-state--empty" data-testid="task-list-empty">
          <p>{status || kind || tag ? 'No task matches these filters.' : 'No tasks yet.'}</p>
          <p className="muted">
            {kind || tag ? (
              <>
                Kinds and tags match exactly: <code>{kind || tag}</code> finds tasks with that very {kind ? 'kind' : 'tag'}, not
                ones that start with it.
              </>
            ) : (
              'Create a demo task to watch one run.'
            )}
          </p>
        </div>
      ) : (
        <ul className="tasks" data-testid="task-list">
          {tasks.map((task) => (
            <li key={task.id}>
              <TaskCard task={task} />
            </li>
          ))}
        </ul>
      )}
      <div className="list__more">
        {connection.pageInfo.hasNextPage ? (
          <button type="button" className="button" onClick={loadMore} disabled={loadingMore} data-testid="load-more">
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        ) : (
          tasks.length > 0 && (
            <span className="muted" data-testid="list-end">
              {tasks.length === 1 ? 'The only task' : `All ${tasks.length} tasks`} shown
            </span>
          )
        )}
        {moreError && <span className="text-error">Could not load more: {moreError}</span>}
      </div>
    </section>
  );
}

function Problem({ message }: { message: string }) {
  const needsKey = /api key|unauthenticated/i.test(message);
  return (
    <div className="problem" role="alert" data-testid="task-list-error">
      <strong>Could not load tasks.</strong> {message}
      {needsKey && (
        <p>
          This service needs an API key: open the dashboard once as <code>/?key=&lt;your key&gt;</code> and accept it (it is
          kept in this browser).
        </p>
      )}
    </div>
  );
}
