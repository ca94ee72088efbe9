/**
 * Vitest globalSetup: gives the test suite a real PostgreSQL server, with no manual setup.
 *
 * - `TEST_POSTGRES_URL` set: that server is used as is.
 * - Otherwise, if a PostgreSQL server install is found (Debian: /usr/lib/postgresql/<ver>/bin, the
 *   highest version wins; else `initdb` and `postgres` on the PATH), a throwaway cluster is created
 *   in a temp dir, started on a free port, and stopped and deleted when the run ends.
 * - No install: the PostgreSQL suites are skipped (one line says so), unless `REQUIRE_POSTGRES=1`,
 *   which makes it an error so that CI can never skip them silently.
 *
 * Tests read the URL with `inject('postgresUrl')`; see test/helpers/postgres.ts.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test PostgreSQL server; null when there is none (suites skip). */
    postgresUrl: string | null;
  }
}

const READY_TIMEOUT_MS = 30_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEST_POSTGRES_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return async () => {};
  }

  const bin = findPostgresBin();
  if (!bin) {
    if (process.env.REQUIRE_POSTGRES === '1') {
      throw new Error('REQUIRE_POSTGRES=1 but no PostgreSQL server install was found (no /usr/lib/postgresql/*/bin/postgres, no initdb+postgres on PATH) and TEST_POSTGRES_URL is not set.');
    }
    console.warn('[postgres] No PostgreSQL server found: the PostgreSQL suites are skipped. Install one (Debian: apt-get install postgresql) or set TEST_POSTGRES_URL to enable them.');
    project.provide('postgresUrl', null);
    return async () => {};
  }

  const server = await startServer(bin);
  project.provide('postgresUrl', server.url);
  return server.stop;
}

/** The bin dir of the highest Debian PostgreSQL version, else a PATH dir with initdb and postgres. */
function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0]) return join(root, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  return null;
}

/** initdb's and postgres's answer to root is "no": as root, run them as the `postgres` user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('Running as root, and there is no `postgres` user to run the test PostgreSQL server as (the Debian postgresql package creates one).');
  }
}

async function startServer(bin: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const user = postgresUser();
  // One temp dir holds the cluster (data/), the unix socket and the server log.
  const dir = mkdtempSync(join(tmpdir(), 'vitest-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  // Node sets uid/gid (and drops supplementary groups) in the child itself. `runuser -u postgres`
  // would also work, but it forks and stays in between, and does not pass SIGINT on to postgres.
  const as = { ...user, cwd: dir };

  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'],
    { ...as, encoding: 'utf8' },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}):\n${init.stdout}${init.stderr}`);
  }

  const port = await freePort();
  const log = openSync(logFile, 'a');
  // fsync=off: safe only because this cluster is a throwaway for tests; a crash may corrupt it.
  const postmaster = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=300'],
    { ...as, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<void>((resolve) => {
    postmaster.once('exit', () => resolve());
    postmaster.once('error', () => resolve()); // could not be spawned at all
  });
  const watchdog = startWatchdog(postmaster, dir);

  // An interrupted or crashing run still stops the server: 'exit' handlers run on process.exit and
  // uncaught errors; the watchdog covers a SIGKILL of this process.
  const onExit = () => {
    if (postmaster.exitCode === null && postmaster.signalCode === null) postmaster.kill('SIGINT');
  };
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.off('exit', onExit);
      onExit(); // SIGINT = "fast shutdown": disconnect clients, no waiting for them.
      const timeout = sleep(15_000, undefined, { ref: false }).then(() => postmaster.kill('SIGKILL'));
      await Promise.race([exited, timeout]);
      await exited;
      watchdog.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    })());

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilReady(url, exited);
  } catch (error) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '';
    await stop();
    throw new Error(`${(error as Error).message}\n--- postgres log ---\n${tail}`);
  }
  return { url, stop };
}

/**
 * A detached shell that outlives us: when this process is gone (even SIGKILLed), it fast-shuts
 * the server down and removes the temp dir. The normal teardown kills it first.
 */
function startWatchdog(postmaster: ChildProcess, dir: string): ChildProcess {
  const script = `
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    kill -INT "$2" 2>/dev/null
    while kill -0 "$2" 2>/dev/null; do sleep 0.2; done
    rm -rf "$3"`;
  const child = spawn('sh', ['-c', script, 'pg-watchdog', String(process.pid), String(postmaster.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

async function waitUntilReady(url: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (gone) throw new Error('The test PostgreSQL server exited during startup.');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`The test PostgreSQL server did not accept connections within ${READY_TIMEOUT_MS / 1000} s: ${(error as Error).message}`);
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
