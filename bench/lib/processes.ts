import { fork, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: servers and load processes run from here, so `--import tsx` resolves. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every child this run started and that has not exited yet. */
const running = new Set<ChildProcess>();

function track<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Signals the child's whole process group: every child is spawned detached, as a group leader. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Process ids of every child still running. */
export function runningPids(): number[] {
  return [...running].map((child) => child.pid).filter((pid): pid is number => pid !== undefined);
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (!hasExited(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    signalGroup(child, 'SIGTERM');
    const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(kill);
  }
  signalGroup(child, 'SIGKILL');
}

/** SIGKILL to the child's group at once; resolves once the child has exited. */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  signalGroup(child, 'SIGKILL');
  await exited;
}

/** Stops every child still running (servers, baselines, load processes, redis-server). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child)));
}

/** Last resort from an `exit` handler, where nothing can be awaited: SIGKILL every group left. */
export function killAllNow(): void {
  for (const child of running) signalGroup(child, 'SIGKILL');
}

/** Spawns a command in its own process group, tracked for `stopAll`, with stdout and stderr piped. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return track(spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true }));
}

/**
 * Resolves with the first stdout line that `match` accepts (mapped by it); rejects if the
 * child exits first or after `timeoutMs`, quoting the end of its stderr.
 */
export function awaitLine<T>(child: ChildProcess, match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(String(chunk));
    if (stderr.length > 50) stderr.shift();
  });
  return new Promise((resolvePromise, reject) => {
    const fail = (why: string) => reject(new Error(`${why}; stderr: ${stderr.join('').slice(-2_000)}`));
    const timer = setTimeout(() => fail(`no ready line after ${timeoutMs} ms`), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(`exited (${code ?? signal}) before it was ready`);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = match(line);
      if (found === undefined) return;
      clearTimeout(timer);
      resolvePromise(found);
    });
  });
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** A load process: a child running one of bench/load/*.ts, driven by commands over IPC. */
export interface LoadProcess {
  pid: number;
  /** Runs `command` in the child with `args`; resolves with what its handler returned. */
  call<T = unknown>(command: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash would end it: its sockets vanish without a goodbye. Resolves once it has exited. */
  kill(): Promise<void>;
}

/** Forks `bench/load/<script>` under tsx and waits until it is ready for commands. */
export async function forkLoad(script: string): Promise<LoadProcess> {
  const child = track(
    fork(resolve(ROOT, 'bench/load', script), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      detached: true,
      stdio: ['ignore', process.stderr.fd, 'inherit', 'ipc'],
      serialization: 'advanced',
    }),
  );
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const ready = new Promise<void>((resolveReady, reject) => {
    child.on('message', (message: Reply | { ready: true }) => {
      if ('ready' in message) return resolveReady();
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`${script}: ${message.error}`));
      else waiter?.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      const error = new Error(`load process ${script} exited (${code ?? signal})`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  await ready;
  return {
    pid: child.pid!,
    call<T>(command: string, args?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolveCall, reject) => {
        pending.set(id, { resolve: resolveCall as (value: unknown) => void, reject });
        child.send({ id, command, args });
      });
    },
    stop: () => stopProcess(child),
    kill: () => killProcess(child),
  };
}

/** Forks `count` load processes of one kind in parallel. */
export function forkLoads(script: string, count: number): Promise<LoadProcess[]> {
  return Promise.all(Array.from({ length: count }, () => forkLoad(script)));
}

/** Stops every load process given, in parallel. */
export async function stopLoads(loads: readonly LoadProcess[]): Promise<void> {
  await Promise.all(loads.map((load) => load.stop()));
}
