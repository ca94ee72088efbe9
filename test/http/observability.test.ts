import { describe, expect, it } from 'vitest';
import { describeDatabaseUrl } from '../../src/log.js';
import { useApps, type TestApp } from '../helpers/app.js';
import { metricsText, sample } from '../helpers/graphql.js';
import { captureLog } from '../helpers/logs.js';
import { runningTask } from '../helpers/tasks.js';

const CREATE = 'mutation C($kind: String!) { createTask(kind: $kind) { id } }';
const COMPLETE = 'mutation D($id: ID!) { completeTask(id: $id, workerId: "w1") { status } }';

const apps = useApps();
let current: TestApp;

const metricsOf = (app: TestApp) => metricsText(app.url);

describe('/metrics', () => {
  it('counts and times writes by operation and outcome, and counts tasks by status', async () => {
    current = await apps.start();
    const id = await runningTask(current.url, { kind: 'report' });
    await current.gql(COMPLETE, { id });
    await current.gql(COMPLETE, { id });
    await current.gql(CREATE, { kind: 'other' });

    const text = await metricsOf(current);
    expect(sample(text, 'task_api_writes_total', { operation: 'create', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'task_api_writes_total', { operation: 'claim', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'task_api_writes_total', { operation: 'complete', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'task_api_writes_total', { operation: 'complete', outcome: 'INVALID_TRANSITION' })).toBe(1);
    expect(sample(text, 'task_api_write_duration_seconds_count', { operation: 'complete' })).toBe(2);
    expect(sample(text, 'task_api_write_duration_seconds_sum', { operation: 'complete' })).toBeGreaterThan(0);
    expect(sample(text, 'task_api_tasks', { status: 'COMPLETED' })).toBe(1);
    expect(sample(text, 'task_api_tasks', { status: 'QUEUED' })).toBe(1);
    expect(sample(text, 'task_api_tasks', { status: 'RUNNING' })).toBe(0);
  });

  it('times HTTP requests by route, method and status, and GraphQL operations by type', async () => {
    current = await apps.start();
    await current.gql(CREATE, { kind: 'report' });
    await current.gql('{ task(id: "nope") { id } }');
    await fetch(`${current.url}/api/queue/poll/nope`);
    await fetch(`${current.url}/healthz`);
    await current.gql('mutation { madeUpAlias: cancelTask(id: "nope") { id } }');
    await current.gql('{ task(id: "nope") { id madeUpField } }');

    const text = await metricsOf(current);
    expect(sample(text, 'task_api_http_request_duration_seconds_count', { route: 'graphql', method: 'POST', status: '200' })).toBe(4);
    expect(sample(text, 'task_api_http_request_duration_seconds_count', { route: 'rest', method: 'GET', status: '404' })).toBe(1);
    expect(sample(text, 'task_api_http_request_duration_seconds_count', { route: 'health', method: 'GET', status: '200' })).toBe(1);
    expect(sample(text, 'graphql_envelop_request_duration_count', { operationType: 'mutation' })).toBe(2);
    expect(sample(text, 'graphql_envelop_request_duration_count', { operationType: 'query' })).toBe(1);
    expect(sample(text, 'graphql_envelop_error_result', { operationType: 'mutation', phase: 'execute' })).toBe(1);
    // A document that does not validate is counted as an error, not as an operation that ran.
    expect(sample(text, 'graphql_envelop_error_result', { operationType: 'query', phase: 'validate' })).toBe(1);
    expect(text).not.toMatch(/operationName=|path=|madeUpAlias/);
  });

  it('times each held long-poll a commit ends, GraphQL and REST, from the commit to the response; a timeout is not a wake', async () => {
    current = await apps.start();
    const app = current;
    const id = await runningTask(app.url, { kind: 'report' });
    const awaited = app.gql('query A($id: ID!) { awaitTask(id: $id, timeout: 30) { status } }', { id });
    const waited = fetch(`${app.url}/api/queue/poll/${id}/wait?timeout=30`);
    const timedOut = app.gql('query A($id: ID!) { awaitTask(id: $id, timeout: 0.2) { status } }', { id });
    await expect.poll(() => app.app.tasks.stats().waiters).toBe(3);
    await timedOut;
    await expect.poll(() => app.app.tasks.stats().waiters).toBe(2);
    const completing = performance.now();
    await app.gql(COMPLETE, { id });
    expect(await awaited).toEqual({ status: 200, data: { awaitTask: { status: 'COMPLETED' } } });
    expect((await (await waited).json()) as { status: string }).toMatchObject({ status: 'completed' });
    const answered = (performance.now() - completing) / 1000;

    await expect.poll(async () => sample(await metricsOf(app), 'task_api_wake_seconds_count')).toBe(2);
    const text = await metricsOf(app);
    expect(sample(text, 'task_api_wake_seconds_sum')).toBeGreaterThan(0);
    // Each wake lies between the commit and its response, so within what the test saw (in seconds, not ms).
    expect(sample(text, 'task_api_wake_seconds_sum')).toBeLessThanOrEqual(2 * answered);
  });

  it('reports the engine’s own gauges: the SQLite WAL size on SQLite, nothing of SQLite on PostgreSQL', async () => {
    current = await apps.start();
    const wal = sample(await metricsOf(current), 'task_api_sqlite_wal_bytes');
    if (process.env.TEST_ENGINE === 'postgres') expect(wal).toBeUndefined();
    else expect(wal).toBe(0);
  });
});

describe('request ids and logs', () => {
  it('echoes a plain x-request-id, and gives a new UUID to a request without one or with an unfit one', async () => {
    current = await apps.start();
    const idOf = async (headers: Record<string, string>) => (await current.gql('{ __typename }', {}, headers)).headers.get('x-request-id');
    expect(await idOf({ 'x-request-id': 'checkout-42.retry:1' })).toBe('checkout-42.retry:1');
    const fresh = [await idOf({}), await idOf({}), await idOf({ 'x-request-id': 'has spaces' }), await idOf({ 'x-request-id': 'x'.repeat(129) })];
    for (const id of fresh) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(fresh).size).toBe(4);
    expect((await fetch(`${current.url}/api/queue/poll/nope`, { headers: { 'x-request-id': 'rest-1' } })).headers.get('x-request-id')).toBe('rest-1');
  });

  it('masks an unexpected resolver error for the client and logs it once, with the request id', async () => {
    const { errors: errorLines, log } = captureLog();
    current = await apps.start({}, { log });
    await current.app.storage.close();

    const answer = await current.gql('{ task(id: "any") { id } }', {}, { 'x-request-id': 'broken-db-1' });
    expect(answer.errors).toEqual([expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    const errors = errorLines();
    expect(errors).toEqual([expect.objectContaining({ msg: 'unexpected error in a resolver', reqId: 'broken-db-1', path: 'task' })]);
    expect(JSON.stringify(errors[0]!.err)).toMatch(/not open|after calling end/);
  });

  it('redacts credentials on every line, and the password of a PostgreSQL URL', () => {
    const { lines, log } = captureLog();
    log.info({ req: { headers: { authorization: 'Bearer s3cret', host: 'h' } }, config: { apiKeys: ['k1'] }, token: 't' }, 'with secrets');
    expect(lines[0]).toMatchObject({ req: { headers: { authorization: '[redacted]', host: 'h' } }, config: { apiKeys: '[redacted]' }, token: '[redacted]' });
    expect(JSON.stringify(lines)).not.toMatch(/s3cret|k1|"t"/);
    expect(describeDatabaseUrl('postgres://app:pw@db:5432/tasks')).toBe('postgres://app:redacted@db:5432/tasks');
    expect(describeDatabaseUrl('./data/tasks.db')).toBe('./data/tasks.db');
  });
});
