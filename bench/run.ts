/**
 * The benchmark suite: `npx tsx bench/run.ts [--quick] [scenario …]` (`npm run bench`).
 * Starts the real server as its own process, drives it from load processes, interleaves
 * every measurement with its baseline (A, B, A, B …), writes bench/results/<date>.json and
 * prints a Markdown table. Every child process, redis-server and PostgreSQL is stopped at the end,
 * whatever happens.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEnvironment } from './lib/environment.js';
import { killAllNow, ROOT, stopAll } from './lib/processes.js';
import { markdownTable, type Row } from './lib/report.js';
import type { Scenario, ScenarioResult } from './lib/scenario.js';
import { quickReductions, settingsFor } from './lib/settings.js';
import { bullmq } from './scenarios/bullmq.js';
import { fanout } from './scenarios/fanout.js';
import { feed } from './scenarios/feed.js';
import { growth } from './scenarios/growth.js';
import { memoryIdle } from './scenarios/memory-idle.js';
import { output } from './scenarios/output.js';
import { polling } from './scenarios/polling.js';
import { read } from './scenarios/read.js';
import { scale } from './scenarios/scale.js';
import { soak } from './scenarios/soak.js';
import { wake } from './scenarios/wake.js';
import { writes } from './scenarios/writes.js';

/** In the order; each can be run alone by name. */
const SCENARIOS: readonly Scenario[] = [read, wake, polling, bullmq, memoryIdle, fanout, writes, growth, scale, soak, feed, output];

interface Outcome extends Partial<ScenarioResult> {
  name: string;
  title: string;
  seconds: number;
  error?: string;
}

function parseArguments(argv: readonly string[]) {
  const unknown = argv.filter((arg) => arg.startsWith('--') && arg !== '--quick');
  const usage = `bench/run.ts [--quick] [${SCENARIOS.map((s) => s.name).join('|')} …]`;
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(', ')}; usage: ${usage}`);
  const names = argv.filter((arg) => !arg.startsWith('--'));
  const missing = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (missing.length > 0) throw new Error(`unknown scenario ${missing.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return {
    quick: argv.includes('--quick'),
    scenarios: names.length === 0 ? SCENARIOS : SCENARIOS.filter((scenario) => names.includes(scenario.name)),
  };
}

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

async function runScenario(scenario: Scenario, context: Omit<Parameters<Scenario['run']>[0], 'dir'>, workDir: string): Promise<Outcome> {
  const started = performance.now();
  const dir = join(workDir, scenario.name);
  mkdirSync(dir, { recursive: true });
  log(`${scenario.title}`);
  try {
    const result = await scenario.run({ ...context, dir });
    return { name: scenario.name, title: scenario.title, seconds: (performance.now() - started) / 1000, ...result };
  } catch (error) {
    log(`${scenario.name} failed: ${error instanceof Error ? error.stack : String(error)}`);
    return { name: scenario.name, title: scenario.title, seconds: (performance.now() - started) / 1000, error: String(error) };
  } finally {
    await stopAll();
  }
}

/** Writes the results file atomically (a .tmp file renamed into place). */
function writeResults(startedAt: Date, content: unknown): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

function printReport(outcomes: readonly Outcome[], table: string, quick: boolean, seconds: number): void {
  const lines = [`## Benchmark results${quick ? ' (--quick: reduced sizes)' : ''}`, '', table, ''];
  if (quick) lines.push(`- --quick: ${quickReductions().join('; ')}.`);
  for (const outcome of outcomes) {
    if (outcome.error) lines.push(`- **${outcome.title}: failed** — ${outcome.error}`);
    for (const note of outcome.notes ?? []) lines.push(`- ${outcome.name}: ${note}`);
  }
  lines.push('', `Total ${seconds.toFixed(0)} s.`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Databases, redis-server's folder and logs of this run; removed at the end, whatever happens. */
let workDir: string | null = null;

function removeWorkDir(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

async function main(): Promise<number> {
  const { quick, scenarios } = parseArguments(process.argv.slice(2));
  const settings = settingsFor(quick);
  const startedAt = new Date();
  workDir = mkdtempSync(join(tmpdir(), 'task-bench-'));
  const outcomes: Outcome[] = [];
  try {
    for (const scenario of scenarios) outcomes.push(await runScenario(scenario, { settings, log }, workDir));
  } finally {
    await stopAll();
    removeWorkDir();
  }
  const rows: Row[] = outcomes.flatMap((outcome) => outcome.rows ?? []);
  const table = markdownTable(rows);
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const file = writeResults(startedAt, {
    startedAt: startedAt.toISOString(),
    seconds,
    quick,
    settings,
    ...describeEnvironment(),
    scenarios: outcomes,
    table,
  });
  printReport(outcomes, table, quick, seconds);
  log(`results: ${file}`);
  return outcomes.some((outcome) => outcome.error) ? 1 : 0;
}

process.on('exit', () => {
  killAllNow();
  removeWorkDir();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every child process`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
