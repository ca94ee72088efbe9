import { join } from 'node:path';
import { gqlRaw, graphqlGet, graphqlPost } from '../lib/graphql.js';
import { measureHttp, warmUp, type HttpMeasurement } from '../lib/http-bench.js';
import { forkLoad } from '../lib/processes.js';
import type { RequestTemplate } from '../lib/raw-http.js';
import { row, type Row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, startBaseline } from '../lib/servers.js';

/** The selection the peer (mercurius) serves too. */
const READ_QUERY = 'query Read($id: ID!) { task(id: $id) { id status progress revision } }';

const SIDES = ['ours', 'bare', 'peer'] as const;
type Side = (typeof SIDES)[number];

/** Per request shape and side: one measurement per round. */
type Rounds = Record<string, Record<Side, HttpMeasurement[]>>;

/** Every shape must answer exactly what our POST does (same data, no CSRF refusal), on every GraphQL side, or the comparison is void. */
async function assertSameAnswer(baseUrl: string, request: RequestTemplate, expected: string): Promise<void> {
  const response = await fetch(`${baseUrl}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
  const text = await response.text();
  if (response.status !== 200 || text !== expected) throw new Error(`${request.method} ${baseUrl}${request.path} answered ${response.status} ${text.slice(0, 300)}`);
}

function rowsFor(shape: string, { ours, bare, peer }: Record<Side, HttpMeasurement[]>): Row[] {
  const pick = (key: keyof HttpMeasurement, against: Side = 'bare') => ({
    ours: ours.map((m) => m[key]),
    baseline: { label: against === 'bare' ? 'bare' : 'mercurius+jit', values: (against === 'bare' ? bare : peer).map((m) => m[key]) },
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
    row({
      scenario: `Read ${shape}: server CPU per request vs peer`,
      unit: 'µs',
      ...pick('cpuPerRequestUs', 'peer'),
      goal: { text: '≤ 1.0× peer', met: (_, ratio) => ratio <= 1 },
    }),
    row({ scenario: `Read ${shape}: throughput vs peer`, unit: 'req/s', ...pick('throughput', 'peer') }),
    row({ scenario: `Read ${shape}: latency p50`, unit: 'ms', ...pick('p50') }),
    row({ scenario: `Read ${shape}: latency p99`, unit: 'ms', ...pick('p99') }),
  ];
}

/**
 * 1. `task(id)` over HTTP POST and GET against a bare node:http server that answers the same
 * request with the same JSON, and against the peer, fastify + mercurius with graphql-jit
 * reading the same SQLite file: throughput, server CPU per request, p50/p99. The three take
 * turns in every round.
 */
export const read: Scenario = {
  name: 'read',
  title: '1. Read: task(id) over HTTP POST and GET vs bare node:http and mercurius+jit',
  async run({ settings, dir, log }) {
    const database = join(dir, 'read.db');
    const [id] = seedDatabase(database, { live: { status: 'RUNNING', count: 1 } }).liveIds;
    const [api, load] = await Promise.all([startApiServer({ DATABASE_URL: database }), forkLoad('http-load.ts')]);
    const shapes: Record<string, RequestTemplate> = { POST: graphqlPost(READ_QUERY, { id }), GET: graphqlGet(READ_QUERY, { id }) };
    const body = await gqlRaw(api.url, shapes.POST!.body!);
    const [bare, peer] = await Promise.all([startBaseline('bare-http.ts', { BODY: body }), startBaseline('mercurius-jit.ts', { DATABASE_URL: database })]);
    for (const server of [api, peer]) for (const request of Object.values(shapes)) await assertSameAnswer(server.url, request, body);
    const servers = { ours: api, bare, peer };

    await warmUp(load, Object.values(servers).map((server) => ({ server, requests: Object.values(shapes) })), settings);
    const rounds: Rounds = Object.fromEntries(Object.keys(shapes).map((shape) => [shape, { ours: [], bare: [], peer: [] }]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [shape, request] of Object.entries(shapes)) {
        for (const side of SIDES) {
          rounds[shape]![side].push(await measureHttp(load, servers[side], [request], settings));
        }
      }
      const { ours, bare: baseline, peer: mercurius } = rounds.POST!;
      const cpu = (side: HttpMeasurement[]) => side.at(-1)!.cpuPerRequestUs.toFixed(0);
      log(`round ${round}/${settings.rounds}: POST ${ours.at(-1)!.throughput.toFixed(0)} vs ${baseline.at(-1)!.throughput.toFixed(0)} bare req/s; CPU ${cpu(ours)} vs ${cpu(mercurius)} µs (peer)`);
    }

    const failed = Object.values(rounds)
      .flatMap((sides) => SIDES.flatMap((side) => sides[side]))
      .reduce((sum, m) => sum + m.failed, 0);
    return {
      rows: Object.entries(rounds).flatMap(([shape, sides]) => rowsFor(shape, sides)),
      notes: [
        `${settings.connections} connections, ${settings.httpSeconds} s per measurement, ${settings.rounds} rounds of ours/bare per shape. ` +
          'Server CPU from /proc/<pid>/task/*/schedstat over each measurement; latencies are per-response durations seen by autocannon. ' +
          'The peer is fastify + mercurius with graphql-jit (bench/baselines/mercurius-jit.ts), answering the same selection from the same SQLite file.',
        ...(failed > 0 ? [`${failed} requests failed (non-2xx, errors or timeouts).`] : []),
      ],
      details: { rounds, responseBody: body },
    };
  },
};
