import { join } from 'node:path';
import { gqlRaw, graphqlGet, graphqlPost, TASK_FIELDS } from '../lib/graphql.js';
import { measureHttp, warmUp, type HttpMeasurement } from '../lib/http-bench.js';
import { forkLoad } from '../lib/processes.js';
import type { RequestTemplate } from '../lib/raw-http.js';
import { row, type Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, startBaseline } from '../lib/servers.js';

const READ_QUERY = `query Read($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;

type Side = 'ours' | 'bare';

/** Per request shape and side: one measurement per round. */
type Rounds = Record<string, Record<Side, HttpMeasurement[]>>;

/** The GET shape must answer exactly what POST does (same data, no CSRF refusal), or the comparison is void. */
async function assertSameAnswer(baseUrl: string, get: RequestTemplate, expected: string): Promise<void> {
  const response = await fetch(`${baseUrl}${get.path}`, { headers: get.headers });
  const text = await response.text();
  if (response.status !== 200 || text !== expected) throw new Error(`GET /graphql answered ${response.status} ${text.slice(0, 300)}`);
}

function rowsFor(shape: string, { ours, bare }: Record<Side, HttpMeasurement[]>): Row[] {
  const pick = (key: keyof HttpMeasurement) => ({
    ours: ours.map((m) => m[key]),
    baseline: { label: 'bare', values: bare.map((m) => m[key]) },
  });
  return [
    row({
      scenario: `Read ${shape}: throughput`,
      unit: 'req/s',
      ...pick('throughput'),
      goal: { text: '≥ 0.30× bare', met: (_, ratio) => ratio >= 0.3 },
    }),
    row({
      scenario: `Read ${shape}: server CPU per request`,
      unit: 'µs',
      ...pick('cpuPerRequestUs'),
      goal: { text: '≤ 100 µs', met: (value) => value <= 100 },
    }),
    row({ scenario: `Read ${shape}: latency p50`, unit: 'ms', ...pick('p50') }),
    row({ scenario: `Read ${shape}: latency p99`, unit: 'ms', ...pick('p99') }),
  ];
}

/**
 * 1. `task(id)` over HTTP POST and GET against a bare node:http server that answers the same
 * request with the same JSON: throughput, server CPU per request, p50/p99.
 */
export const read: Scenario = {
  name: 'read',
  title: '1. Read: task(id) over HTTP POST and GET vs bare node:http',
  async run({ settings, dir, log }) {
    const database = join(dir, 'read.db');
    const [id] = seedDatabase(database, { live: { status: 'RUNNING', count: 1 } }).liveIds;
    const [api, load] = await Promise.all([startApiServer({ DATABASE_URL: database }), forkLoad('http-load.ts')]);
    const shapes: Record<string, RequestTemplate> = { POST: graphqlPost(READ_QUERY, { id }), GET: graphqlGet(READ_QUERY, { id }) };
    const body = await gqlRaw(api.url, shapes.POST!.body!);
    await assertSameAnswer(api.url, shapes.GET!, body);
    const bare = await startBaseline('bare-http.ts', { BODY: body });
    const servers = { ours: api, bare };

    await warmUp(load, Object.values(servers).map((server) => ({ server, requests: Object.values(shapes) })), settings);
    const rounds: Rounds = Object.fromEntries(Object.keys(shapes).map((shape) => [shape, { ours: [], bare: [] }]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [shape, request] of Object.entries(shapes)) {
        for (const side of ['ours', 'bare'] as const) {
          rounds[shape]![side].push(await measureHttp(load, servers[side], [request], settings));
        }
      }
      const { ours, bare: baseline } = rounds.POST!;
      log(`round ${round}/${settings.rounds}: POST ${ours.at(-1)!.throughput.toFixed(0)} vs ${baseline.at(-1)!.throughput.toFixed(0)} req/s`);
    }

    const failed = Object.values(rounds)
      .flatMap((sides) => [...sides.ours, ...sides.bare])
      .reduce((sum, m) => sum + m.failed, 0);
    return {
      rows: Object.entries(rounds).flatMap(([shape, sides]) => rowsFor(shape, sides)),
      notes: [
        `${settings.connections} connections, ${settings.httpSeconds} s per measurement, ${settings.rounds} rounds of ours/bare per shape. ` +
          'Server CPU from /proc/<pid>/task/*/schedstat over each measurement; latencies are per-response durations seen by autocannon.',
        ...(failed > 0 ? [`${failed} requests failed (non-2xx, errors or timeouts).`] : []),
      ],
      details: { rounds, responseBody: body },
    };
  },
};
