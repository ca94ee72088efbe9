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
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestProject } from 'vitest/node';
import { findPostgresBin, initCluster, waitUntilReady } from '../../tooling/postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test PostgreSQL server; null when there is none (suites skip). */
    postgresUrl: string | null;
  }
}

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

async function startServer(bin: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const { dir, data, logFile, port, as, removeDir } = await initCluster(bin, 'vitest-pg-');
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
      removeDir();
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
