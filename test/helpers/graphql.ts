/**
 * GraphQL over real HTTP, as a client of the running server sees it, and the small readers
 * every suite needs: error codes, a series from /metrics.
 */

export interface GqlError {
  message: string;
  locations?: { line: number; column: number }[];
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data: T;
  errors?: GqlError[];
  /**
   * The response's headers (e.g. `retry-after`, `x-request-id`). Not enumerable: a whole
   * result still compares (`toEqual`) by its status and body alone.
   */
  readonly headers: Headers;
}

export interface GqlOptions {
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }` or an `accept`. */
  headers?: Record<string, string>;
  /** GET with the operation in the query string instead of a JSON POST. */
  method?: 'GET' | 'POST';
  signal?: AbortSignal;
}

/** One GraphQL request to `${baseUrl}/graphql` over a real socket; the answer's status, body and headers. */
export async function gqlRequest<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  { headers = {}, method = 'POST', signal }: GqlOptions = {},
): Promise<GqlResult<T>> {
  const url = new URL('/graphql', baseUrl);
  let init: RequestInit;
  if (method === 'GET') {
    url.searchParams.set('query', query);
    if (variables) url.searchParams.set('variables', JSON.stringify(variables));
    init = { headers: { accept: 'application/json', ...headers }, signal };
  } else {
    init = { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }), signal };
  }
  const response = await fetch(url, init);
  const result = { status: response.status, ...(await response.json()) };
  return Object.defineProperty(result, 'headers', { value: response.headers, enumerable: false });
}

/** `Authorization: Bearer <key>` as a headers object. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** Every error's `extensions.code`, in order; undefined when the result has no errors. */
export const codes = (result: { errors?: readonly GqlError[] }) => result.errors?.map((error) => error.extensions?.code);

/** The first error's `extensions.code`. */
export const code = (result: { errors?: readonly GqlError[] }) => result.errors?.[0]?.extensions?.code;

/** The Prometheus text of `${baseUrl}/metrics`. */
export const metricsText = async (baseUrl: string) => (await fetch(`${baseUrl}/metrics`)).text();

/** Every sample of a series in Prometheus text (`name{labels} value`) whose labels include `labels`, in order. */
export function samples(text: string, name: string, labels: Record<string, string> = {}): number[] {
  const found: number[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) found.push(Number(match[3]));
  }
  return found;
}

/** One sample of a series in Prometheus text whose labels include `labels` (the first); undefined when absent. */
export const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => samples(text, name, labels)[0];

/** One series read from `${baseUrl}/metrics` now, e.g. `metric(url, 'task_api_waiters')`; 0 when absent. */
export async function metric(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sample(await metricsText(baseUrl), name, labels) ?? 0;
}

/**
 * The sum over every label set of a series read from `${baseUrl}/metrics` now whose labels
 * include `labels`, e.g. all committed writes: `metricSum(url, 'task_api_writes_total', { outcome: 'ok' })`; 0 when absent.
 */
export async function metricSum(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return samples(await metricsText(baseUrl), name, labels).reduce((sum, value) => sum + value, 0);
}
