/**
 * A throwaway PostgreSQL server for one bench run, made with the same steps as the tests'
 * (tooling/postgres-cluster.ts): Debian's binaries (/usr/lib/postgresql/<highest>/bin, else initdb and postgres on the
 * PATH), `initdb` in a temp dir, the server on 127.0.0.1 and a free port, run as the
 * `postgres` user when this process is root.
 *
 * Unlike the tests' server, this one keeps `fsync=on` and `synchronous_commit=on` (the
 * defaults): a commit is durable when the service answers, as in production, and that cost is
 * part of what the scenarios measure. Only initdb itself runs with `--no-sync` (the template
 * files it writes are not measured).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBin, initCluster, waitUntilReady } from '../../tooling/postgres-cluster.js';
import { sleep } from './clock.js';
import { cpuTimeNs } from './procfs.js';
import { spawnTracked, stopProcess } from './processes.js';

/** `postgres --version`, or 'not installed'. */
export function postgresVersion(): string {
  const bin = findPostgresBin();
  if (!bin) return 'not installed';
  try {
    return execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export interface PostgresServer {
  /** The postmaster's process id. */
  pid: number;
  port: number;
  /** Superuser URL of the `postgres` database. */
  url: string;
  /** `postgres --version`. */
  version: string;
  /** The server's settings that matter to the numbers (fsync, synchronous_commit, …). */
  settings: Record<string, string>;
  /** A new, empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Removes a database, closing whatever connections it still has. */
  dropDatabase(name: string): Promise<void>;
  /**
   * CPU time the whole server has used so far, in ns: the postmaster's and every live
   * backend's and auxiliary process's (schedstat), plus that of the children it has reaped
   * (its cutime + cstime, in clock ticks): backends come and go as pools open and close
   * connections, and their time must neither vanish nor count negative.
   */
  cpuTimeNs(): number;
  /** Lines of the server's log at WARNING level or above so far: how many, and the first 100. */
  problems(): { count: number; first: string[] };
  /** Fast shutdown, then the cluster's folder is removed. */
  stop(): Promise<void>;
}

/** Settings passed to the server. fsync and synchronous_commit stay at their durable defaults, said explicitly. */
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  fsync: 'on',
  synchronous_commit: 'on',
  max_connections: '300',
};

/** Runs one statement on the `postgres` database as the superuser. */
async function admin(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Children of `parent`, from /proc/<pid>/stat. */
function childrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU of `pid`, its live children and its reaped children, in ns. */
function serverCpuTimeNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": state is field 3; cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const reapedTicks = Number(fields[16 - 3]) + Number(fields[17 - 3]);
  let total = cpuTimeNs(pid) + (reapedTicks / CLOCK_TICKS_PER_SECOND) * 1e9;
  for (const child of childrenOf(pid)) {
    try {
      total += cpuTimeNs(child);
    } catch {
      // exited meanwhile (and reaped into cutime, or soon will be)
    }
  }
  return total;
}

/**
 * Creates a cluster in a new temp dir (its own, outside the run's work dir, which only root
 * may enter) and starts it. The folder is removed by `stop()` or, failing that, when this
 * process exits; the postmaster is a tracked child, so the suite's `stopAll` ends it too.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('No PostgreSQL server install found (no /usr/lib/postgresql/*/bin/postgres, no initdb+postgres on PATH); `npm run prebench` installs Debian\'s.');
  const { data, logFile, port, as, removeDir, dir } = await initCluster(bin, 'task-bench-pg-');
  process.once('exit', removeDir);
  const log = openSync(logFile, 'a');
  const args = ['-D', data, '-p', String(port), '-k', dir, ...Object.entries(SERVER_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const postmaster = spawnTracked(join(bin, 'postgres'), args, { ...as, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => {
    postmaster.once('exit', () => resolve());
    postmaster.once('error', () => resolve());
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGINT is the fast shutdown: clients are disconnected, nothing waits for them.
      if (postmaster.exitCode === null && postmaster.signalCode === null) postmaster.kill('SIGINT');
      await Promise.race([exited, sleep(15_000)]);
      await stopProcess(postmaster, 1_000);
      removeDir();
      process.off('exit', removeDir);
    })());

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilReady(url, exited);
  } catch (error) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4_000) : '';
    await stop();
    throw new Error(`${(error as Error).message}\n--- postgres log ---\n${tail}`);
  }
  const shown = await admin(
    url,
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'max_connections', 'commit_delay')",
  );
  return {
    pid: postmaster.pid!,
    port,
    url,
    version: postgresVersion(),
    settings: Object.fromEntries(shown.rows.map((row: { name: string; setting: string }) => [row.name, row.setting])),
    async createDatabase(name) {
      await admin(url, `CREATE DATABASE "${name}"`);
      const databaseUrl = new URL(url);
      databaseUrl.pathname = `/${name}`;
      return databaseUrl.toString();
    },
    async dropDatabase(name) {
      await admin(url, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    cpuTimeNs: () => serverCpuTimeNs(postmaster.pid!),
    problems() {
      const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n') : [];
      const bad = lines.filter((line) => /\b(WARNING|ERROR|FATAL|PANIC):/.test(line));
      return { count: bad.length, first: bad.slice(0, 100) };
    },
    stop,
  };
}
