import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../tooling/ports.js';
import { sleep } from './clock.js';
import { awaitLine, spawnTracked, stopProcess } from './processes.js';

/** A server under test or a baseline server, running as its own process on 127.0.0.1. */
export interface Server {
  pid: number;
  /** `http://127.0.0.1:<port>`, without a path. */
  url: string;
  port: number;
  /** `ws://127.0.0.1:<port>/graphql`. */
  wsUrl: string;
  /** Log lines at warn level or above (pino level ≥ 40) and stderr lines since the start: how many, and the first 100. */
  problems(): { count: number; first: string[] };
  /** Of those, the log lines at error level or above (pino level ≥ 50) and the stderr lines: how many, and the first 100. */
  errors(): { count: number; first: string[] };
  /** Calls `listener` with every line the server writes to stdout from now on (log lines, and e.g. `--trace-gc` lines). */
  onStdout(listener: (line: string) => void): void;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/**
 * The API's environment for benchmarks: every client is 127.0.0.1, so the per-client and
 * connection caps are raised out of the way; so are the tenant's quotas, since every load is
 * one tenant's and the benchmarks measure capacity (the writes scenario sends thousands of
 * writes a second, the wake and soak scenarios 1,000 completions a second); long-polls may
 * last 10 minutes; no API keys.
 */
export const BENCH_API_ENV: Readonly<Record<string, string>> = {
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  API_KEYS: '',
  MAX_WAITERS: '100000',
  MAX_WAITERS_PER_CLIENT: '100000',
  MAX_CONNECTIONS: '100000',
  TENANT_WRITES_PER_SECOND: '1000000000',
  TENANT_WRITE_BURST: '1000000000',
  MAX_QUEUED_PER_TENANT: '1000000000',
  MAX_STREAMS_PER_CLIENT: '10000000',
  MAX_CONNECTIONS_PER_CLIENT: '10000000',
  AWAIT_TIMEOUT_MAX_SECONDS: '600',
  SHUTDOWN_GRACE_MS: '1000',
};

function environment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...overrides };
  delete env.API_KEYS_FILE;
  delete env.NODE_OPTIONS;
  return env;
}

/** Parses a JSON log line and returns the URL it announces when its `msg` is `readyMessage`. */
function listeningUrl(readyMessage: string) {
  return (line: string): string | undefined => {
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
      return entry.msg === readyMessage && typeof entry.url === 'string' ? entry.url : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Entries counted, and the first 100 of them (each cut at 1,000 characters). */
function tally() {
  const first: string[] = [];
  let count = 0;
  let keptLast = false;
  return {
    note(line: string) {
      count++;
      keptLast = first.length < 100;
      if (keptLast) first.push(line.slice(0, 1_000));
    },
    /** Adds a line to the last entry (a stack trace's next frame): not counted again. */
    extend(line: string) {
      if (keptLast) first[first.length - 1] = `${first[first.length - 1]} | ${line.trim()}`.slice(0, 1_000);
    },
    read: () => ({ count, first: [...first] }),
  };
}

/** A stderr line that continues the one before: an indented stack frame or the end of an error's printed fields. */
const continues = (line: string) => /^\s|^[}\]]/.test(line);

/**
 * Keeps the warnings and errors a child logs: JSON lines with a pino `level` ≥ 40 (≥ 50 also
 * as errors), and anything on stderr (as both; a stack trace is one entry, with the time it
 * was written, since it has no timestamp of its own).
 */
function watchProblems(child: ChildProcess): Pick<Server, 'problems' | 'errors' | 'onStdout'> {
  const problems = tally();
  const errors = tally();
  const listeners: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    for (const listener of listeners) listener(line);
    if (!line.includes('"level"')) return;
    try {
      const { level } = JSON.parse(line) as { level?: unknown };
      if (typeof level !== 'number' || level < 40) return;
      problems.note(line);
      if (level >= 50) errors.note(line);
    } catch {
      // not a log line
    }
  });
  let stderrStarted = false;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.trim() === '') return;
    if (stderrStarted && continues(line)) {
      problems.extend(line);
      errors.extend(line);
      return;
    }
    stderrStarted = true;
    const entry = `stderr at ${new Date().toISOString()}: ${line}`;
    problems.note(entry);
    errors.note(entry);
  });
  return { problems: problems.read, errors: errors.read, onStdout: (listener) => listeners.push(listener) };
}

async function startNodeServer(args: string[], env: Record<string, string>, readyMessage: string, stdin: 'ignore' | 'pipe'): Promise<Server> {
  const child = spawnTracked(process.execPath, args, { env: environment(env), stdio: [stdin, 'pipe', 'pipe'] });
  const { problems, errors, onStdout } = watchProblems(child);
  try {
    const announced = await awaitLine(child, listeningUrl(readyMessage), READY_TIMEOUT_MS);
    const url = new URL(announced);
    return {
      pid: child.pid!,
      url: url.origin,
      port: Number(url.port),
      wsUrl: `ws://${url.host}/graphql`,
      problems,
      errors,
      onStdout,
      stop: () => stopProcess(child),
    };
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

/**
 * Starts the real server as `npm start` runs it (`node dist/main.js`, built by `prebench`) on a free port with
 * `BENCH_API_ENV` plus `env` (at least DATABASE_URL), and resolves once it listens.
 * `nodeArgs` go to node itself (e.g. `--cpu-prof`).
 */
export function startApiServer(env: Record<string, string>, nodeArgs: string[] = []): Promise<Server> {
  if (!existsSync('dist/main.js')) throw new Error('dist/main.js is missing: `npm run bench` builds it; with `npx tsx bench/run.ts`, run `npm run build` first.');
  return startNodeServer([...nodeArgs, 'dist/main.js'], { ...BENCH_API_ENV, ...env }, 'task status API listening', 'ignore');
}

/**
 * Starts `bench/baselines/<script>`, which logs `{"msg":"listening","url":…}` once it
 * listens and exits when its stdin (a pipe from this process) closes.
 */
export function startBaseline(script: string, env: Record<string, string> = {}): Promise<Server> {
  return startNodeServer(['--import', 'tsx', `bench/baselines/${script}`], { HOST: '127.0.0.1', PORT: '0', ...env }, 'listening', 'pipe');
}


export interface RedisServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts Debian's redis-server on 127.0.0.1 and a free port, without persistence, working in `dir`. */
export async function startRedis(dir: string): Promise<RedisServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = spawnTracked('/usr/bin/redis-server', [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
  ]);
  try {
    await waitForPort(port, READY_TIMEOUT_MS);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { port, pid: child.pid!, stop: () => stopProcess(child) };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
