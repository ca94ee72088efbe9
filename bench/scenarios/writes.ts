import { join } from 'node:path';
import { gql, gqlRaw, graphqlPost } from '../lib/graphql.js';
import { measureHttp, warmUp, type HttpMeasurement } from '../lib/http-bench.js';
import { forkLoad } from '../lib/processes.js';
import { row } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { seedDatabase } from '../lib/seed.js';
import { startApiServer, startBaseline, type Server } from '../lib/servers.js';

const PROGRESS =
  'mutation Progress($id: ID!, $progress: Int!) { reportProgress(id: $id, progress: $progress) { id progress revision updatedAt } }';
/** Writes rotate over this many running tasks. */
const TASKS = 100;
const MODES = ['NORMAL', 'FULL'] as const;
type Mode = (typeof MODES)[number];

/** Sum of the revisions of every running task: each committed write adds one. */
async function revisionSum(server: Server): Promise<number> {
  const data = await gql<{ tasks: { edges: { node: { revision: number } }[] } }>(
    server.url,
    `{ tasks(status: RUNNING, first: ${TASKS}) { edges { node { revision } } } }`,
  );
  return data.tasks.edges.reduce((sum, { node }) => sum + node.revision, 0);
}

/**
 * 7. Writes: `reportProgress` mutations per second over HTTP against a bare node:http
 * server answering the same JSON, and repository updates per second in process, each with
 * synchronous NORMAL and FULL.
 */
export const writes: Scenario = {
  name: 'writes',
  title: '7. Writes: reportProgress over HTTP vs bare; repository in process; NORMAL and FULL',
  async run({ settings, dir, log }) {
    const database = (mode: Mode) => join(dir, `${mode}.db`);
    const seeded = {
      NORMAL: seedDatabase(database('NORMAL'), { live: { status: 'RUNNING', count: TASKS } }).liveIds,
      FULL: seedDatabase(database('FULL'), { live: { status: 'RUNNING', count: TASKS } }).liveIds,
    };
    const [normal, full, load, repository] = await Promise.all([
      startApiServer({ DATABASE_URL: database('NORMAL'), SQLITE_SYNCHRONOUS: 'NORMAL' }),
      startApiServer({ DATABASE_URL: database('FULL'), SQLITE_SYNCHRONOUS: 'FULL' }),
      forkLoad('http-load.ts'),
      forkLoad('repository-writes.ts'),
    ]);
    const apis: Record<Mode, Server> = { NORMAL: normal, FULL: full };
    const requests = (mode: Mode) => seeded[mode].map((id, k) => graphqlPost(PROGRESS, { id, progress: k % 100 }));
    const bare = await startBaseline('bare-http.ts', { BODY: await gqlRaw(normal.url, requests('NORMAL')[0]!.body!) });
    const targets = [{ server: bare, requests: requests('NORMAL') }, ...MODES.map((mode) => ({ server: apis[mode], requests: requests(mode) }))];
    await warmUp(load, targets, settings);
    const before = { NORMAL: await revisionSum(normal), FULL: await revisionSum(full) };

    const http: Record<Mode | 'bare', HttpMeasurement[]> = { bare: [], NORMAL: [], FULL: [] };
    const inProcess: Record<Mode, number[]> = { NORMAL: [], FULL: [] };
    for (let round = 1; round <= settings.rounds; round++) {
      http.bare.push(await measureHttp(load, bare, requests('NORMAL'), settings));
      for (const mode of MODES) http[mode].push(await measureHttp(load, apis[mode], requests(mode), settings));
      for (const mode of MODES) {
        const args = { path: join(dir, `repo-${mode}.db`), synchronous: mode, seconds: settings.repositorySeconds };
        inProcess[mode].push((await repository.call<{ perSecond: number }>('run', args)).perSecond);
      }
      const last = (list: HttpMeasurement[]) => list.at(-1)!.throughput.toFixed(0);
      log(
        `round ${round}/${settings.rounds}: bare ${last(http.bare)}, NORMAL ${last(http.NORMAL)}, FULL ${last(http.FULL)} req/s; ` +
          `repository NORMAL ${inProcess.NORMAL.at(-1)!.toFixed(0)}, FULL ${inProcess.FULL.at(-1)!.toFixed(0)}/s`,
      );
    }

    const committed = { NORMAL: (await revisionSum(normal)) - before.NORMAL, FULL: (await revisionSum(full)) - before.FULL };
    const acknowledged = (mode: Mode) => http[mode].reduce((sum, m) => sum + m.ok, 0);
    const lostWrites = MODES.filter((mode) => committed[mode] < acknowledged(mode));
    const throughput = (list: HttpMeasurement[]) => list.map((m) => m.throughput);
    const vsBare = (mode: Mode) =>
      row({
        scenario: `Writes over HTTP, ${mode}: reportProgress/s`,
        unit: 'req/s',
        ours: throughput(http[mode]),
        baseline: { label: 'bare', values: throughput(http.bare) },
        goal: { text: '≥ 0.20× bare', met: (_, ratio) => ratio >= 0.2 },
      });
    return {
      rows: [
        vsBare('NORMAL'),
        vsBare('FULL'),
        row({
          scenario: 'Writes over HTTP, NORMAL: server CPU per write',
          unit: 'µs',
          ours: http.NORMAL.map((m) => m.cpuPerRequestUs),
          baseline: { label: 'bare', values: http.bare.map((m) => m.cpuPerRequestUs) },
        }),
        row({
          scenario: 'Writes over HTTP: FULL vs NORMAL',
          unit: 'req/s',
          ours: throughput(http.FULL),
          baseline: { label: 'NORMAL', values: throughput(http.NORMAL) },
          goal: { text: '≥ 0.5× NORMAL', met: (_, ratio) => ratio >= 0.5 },
        }),
        row({
          scenario: 'Repository updates in process: FULL vs NORMAL',
          unit: 'updates/s',
          ours: inProcess.FULL,
          baseline: { label: 'NORMAL', values: inProcess.NORMAL },
          goal: { text: '≥ 0.5× NORMAL', met: (_, ratio) => ratio >= 0.5 },
        }),
      ],
      notes: [
        `${settings.connections} connections, ${settings.httpSeconds} s per HTTP measurement, writes rotating over ${TASKS} running tasks; ` +
          'bare answers the same JSON without GraphQL or SQLite. Repository: one get + save in an IMMEDIATE transaction per update, ' +
          `on one connection, in a child process, ${settings.repositorySeconds} s per measurement.`,
        `Revisions grew by ${committed.NORMAL} (NORMAL) and ${committed.FULL} (FULL) for ${acknowledged('NORMAL')} and ${acknowledged('FULL')} ` +
          '2xx answers (a few more commits than answers: requests in flight when a measurement stopped).',
        ...(lostWrites.length > 0 ? [`**Fewer commits than acknowledged writes** with ${lostWrites.join(' and ')}.`] : []),
      ],
      details: { http, inProcess, committed },
    };
  },
};
