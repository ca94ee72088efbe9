import { useMutation } from '@apollo/client/react';
import { useId, useState } from 'react';
import { shortId } from '../format';
import { CREATE_TASK } from '../operations';

export const DEMO_KIND = 'demo.report';
const MONTH = new Intl.DateTimeFormat('en', { month: 'long', year: 'numeric' });

/** Queues a `demo.report` task; the list's first page is refetched so it shows at the top. */
export function CreateTaskButton() {
  const [create, { loading, error }] = useMutation(CREATE_TASK, {
    refetchQueries: ['Tasks'],
    awaitRefetchQueries: true,
  });
  const [created, setCreated] = useState<string>();
  const hintId = useId();

  const onClick = async () => {
    const result = await create({
      variables: {
        kind: DEMO_KIND,
        input: {
          report: `${MONTH.format(new Date())} summary`,
          rows: 1_000 * (1 + Math.floor(Math.random() * 50)),
          requestedFrom: 'dashboard',
        },
        maxAttempts: 3,
      },
    }).catch(() => undefined); // the error shows next to the button
    if (result?.data) setCreated(result.data.createTask.id);
  };

  return (
    <div className="create">
      <div className="create__main">
        <button
          type="button"
          className="button button--primary"
          onClick={() => void onClick()}
          disabled={loading}
          aria-describedby={hintId}
          data-testid="create-task"
        >
          {loading ? 'Creating…' : 'New demo task'}
        </button>
        <span className="create__hint" id={hintId} data-testid="create-hint">
          Runs only if the service was started with <code>npm run demo</code>; otherwise it waits for a worker of yours.
        </span>
      </div>
      <span className="create__note" aria-live="polite" data-testid="create-note">
        {error ? (
          <span className="text-error">Could not create a task: {error.message}</span>
        ) : created ? (
          <>
            Queued <code>{DEMO_KIND}</code> #{shortId(created)}
          </>
        ) : null}
      </span>
    </div>
  );
}
