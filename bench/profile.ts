/**
 * Where the server spends its CPU under one kind of load: `npx tsx bench/profile.ts
 * [read|write|wake] [seconds]`. Starts the real server with `--cpu-prof`, drives it from a
 * load process, stops it (the profile is written on exit) and prints self time by package
 * or source file, and the hottest functions. Not part of `npm run bench`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { graphqlPost, TASK_FIELDS } from './lib/graphql.js';
import { measureHttp } from './lib/http-bench.js';
import { forkLoad, forkLoads, ROOT, stopAll } from './lib/processes.js';
import { seedDatabase } from './lib/seed.js';
import { startApiServer } from './lib/servers.js';
import { settingsFor } from './lib/settings.js';
import { apiLongPolls } from './lib/targets.js';
import { wakeRound } from './lib/wake.js';

const PROGRESS = 'mutation P($id: ID!, $p: Int!) { reportProgress(id: $id, progress: $p) { id progress revision updatedAt } }';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs between samples, the first one from `startTime`. */
  timeDeltas: number[];
}

/** When the load ran, in ms after the server was spawned (profiling starts with the process). */
interface LoadWindow {
  fromMs: number;
  toMs: number;
}

/** The frame's file: under node_modules from the package name on, else relative to the repository. */
function fileOf({ url, functionName }: ProfileNode['callFrame']): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  if (url.startsWith('node:')) return url;
  return relative(ROOT, url.replace(/^file:\/\//, ''));
}

/** Which package, source file or V8 bucket a frame belongs to. */
function placeOf(callFrame: ProfileNode['callFrame']): string {
  const file = fileOf(callFrame);
  if (!callFrame.url.includes('/node_modules/')) return file;
  const [first, second] = file.split('/');
  return first!.startsWith('@') ? `${first}/${second}` : first!;
}

/** Self time in ms per key, over the samples taken while the load ran (start-up excluded). */
function selfTime(profile: CpuProfile, window: LoadWindow, keyOf: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  let atMs = 0;
  profile.samples.forEach((id, i) => {
    const deltaMs = (profile.timeDeltas[i] ?? 0) / 1000;
    atMs += deltaMs;
    if (atMs < window.fromMs || atMs > window.toMs) return;
    const key = keyOf(byId.get(id)!);
    totals.set(key, (totals.get(key) ?? 0) + deltaMs);
  });
  return totals;
}

function printTop(title: string, totals: Map<string, number>, count: number): void {
  const busy = [...totals].filter(([key]) => !key.startsWith('(idle)'));
  const sum = busy.reduce((total, [, ms]) => total + ms, 0);
  console.log(`\n${title} (${sum.toFixed(0)} ms busy)`);
  for (const [key, ms] of busy.sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${((ms / sum) * 100).toFixed(1).padStart(5)} %  ${key}`);
  }
}

async function drive(kind: string, seconds: number, dir: string): Promise<LoadWindow> {
  const settings = { ...settingsFor(false), httpSeconds: seconds };
  const database = join(dir, 'profile.db');
  const ids = seedDatabase(database, { live: { status: 'RUNNING', count: Math.min(5_000, Math.max(100, seconds * 1_000)) } }).liveIds;
  const spawnedAt = performance.now();
  const api = await startApiServer({ DATABASE_URL: database, SQLITE_SYNCHRONOUS: 'NORMAL' }, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const fromMs = performance.now() - spawnedAt + 500;
  if (kind === 'wake') {
    const [holders, writer] = await Promise.all([forkLoads('long-polls.ts', 1), forkLoad('writer.ts')]);
    await wakeRound(apiLongPolls(api), ids, { holders, writer, ratePerSecond: 1_000, idleSeconds: 0 });
  } else {
    const load = await forkLoad('http-load.ts');
    const requests =
      kind === 'write'
        ? ids.slice(0, 100).map((id, k) => graphqlPost(PROGRESS, { id, p: k % 100 }))
        : [graphqlPost(`query Read($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id: ids[0] })];
    const result = await measureHttp(load, api, requests, settings);
    console.log(`${kind}: ${result.throughput.toFixed(0)} req/s, ${result.cpuPerRequestUs.toFixed(0)} µs server CPU per request`);
  }
  const toMs = performance.now() - spawnedAt;
  await api.stop();
  return { fromMs, toMs };
}

async function main(): Promise<void> {
  const kind = process.argv[2] ?? 'read';
  const seconds = Number(process.argv[3] ?? 10);
  if (!['read', 'write', 'wake'].includes(kind)) throw new Error('usage: bench/profile.ts [read|write|wake] [seconds]');
  const dir = mkdtempSync(join(tmpdir(), 'task-profile-'));
  try {
    const window = await drive(kind, seconds, dir);
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error('the server wrote no profile');
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    printTop('Self time by package or file', selfTime(profile, window, (node) => placeOf(node.callFrame)), 20);
    const functionOf = ({ callFrame }: ProfileNode) => `${callFrame.functionName || '(anonymous)'}  ${fileOf(callFrame)}:${callFrame.lineNumber + 1}`;
    printTop('Hottest functions', selfTime(profile, window, functionOf), 25);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
