import type { RequestTemplate } from './raw-http.js';

/** Runs one GraphQL operation over HTTP POST; throws on an HTTP or GraphQL error. */
export async function gql<T = unknown>(baseUrl: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as { data?: T; errors?: unknown[] };
  if (!response.ok || parsed.errors) throw new Error(`GraphQL ${response.status}: ${text.slice(0, 500)}`);
  return parsed.data as T;
}

/** The raw body of one GraphQL POST, as the server sends it. */
export async function gqlRaw(baseUrl: string, body: string): Promise<string> {
  const response = await fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"')) throw new Error(`GraphQL ${response.status}: ${text.slice(0, 500)}`);
  return text;
}

/** The value of one gauge or counter (without labels) on the server's /metrics. */
export async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`${name} is not on /metrics`);
  return Number(match[1]);
}

/** Several gauges or counters (without labels) from one scrape of the server's /metrics, by name. */
export async function metrics<Name extends string>(baseUrl: string, names: readonly Name[]): Promise<Record<Name, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const values = {} as Record<Name, number>;
  for (const name of names) {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`${name} is not on /metrics`);
    values[name] = Number(match[1]);
  }
  return values;
}

/** A Prometheus histogram without labels, as scraped: cumulative counts per upper bound (seconds), sum and count. */
export interface HistogramSnapshot {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

export async function histogram(baseUrl: string, name: string): Promise<HistogramSnapshot> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = (suffix: string) => {
    const match = new RegExp(`^${name}_${suffix} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`${name}_${suffix} is not on /metrics`);
    return Number(match[1]);
  };
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map(([, le, count]) => ({
    le: le === '+Inf' ? Infinity : Number(le),
    count: Number(count),
  }));
  return { buckets, sum: value('sum'), count: value('count') };
}

/** A JSON POST /graphql request for `query` with `variables` (placeholders allowed in strings). */
export function graphqlPost(query: string, variables: Record<string, unknown> = {}): RequestTemplate {
  return {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  };
}

/** A GET /graphql?query=…&variables=… request (no placeholders: they would be URL-encoded); Yoga's CSRF prevention wants the extra header. */
export function graphqlGet(query: string, variables: Record<string, unknown> = {}): RequestTemplate {
  const search = new URLSearchParams({ query, variables: JSON.stringify(variables) });
  return { method: 'GET', path: `/graphql?${search}`, headers: { 'x-graphql-yoga-csrf': '1' } };
}

/** The task fields every scenario reads back: enough to see state, revision and commit time. */
export const TASK_FIELDS = 'id status progress message revision done updatedAt';
