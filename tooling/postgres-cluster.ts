/**
 * Steps for a throwaway PostgreSQL cluster from a local install, shared by the tests' server
 * (test/setup/postgres.ts) and the benchmark's (bench/lib/postgres.ts), which differ in the
 * settings they start it with and in how they stop it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './ports.js';

const READY_TIMEOUT_MS = 30_000;

/** The bin dir of the highest Debian PostgreSQL version, else a PATH dir with initdb and postgres; null if none. */
export function findPostgresBin(): string | null {
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

/**
 * initdb's and postgres's answer to root is "no": as root, they run as the `postgres` user.
 * Node sets uid/gid in the child itself; `runuser -u postgres` would fork and stay in between,
 * and not pass SIGINT on to postgres.
 */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('Running as root, and there is no `postgres` user to run PostgreSQL as (the Debian postgresql package creates one).');
  }
}

export interface Cluster {
  /** The temp dir: the cluster (data/), the unix socket and the server log. */
  dir: string;
  data: string;
  logFile: string;
  /** A free port on 127.0.0.1 to start the server on. */
  port: number;
  /** Spawn options for initdb and postgres: the `postgres` user when root, cwd in `dir`. */
  as: { uid?: number; gid?: number; cwd: string };
  removeDir(): void;
}

/**
 * Creates a cluster (superuser `postgres`, trust auth, UTF8, C locale) in a new temp dir
 * named after `prefix`, owned by the user the server will run as; throws with initdb's
 * output, and leaves nothing behind, if it fails.
 */
export async function initCluster(bin: string, prefix: string): Promise<Cluster> {
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = { ...user, cwd: dir };
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'], {
    ...as,
    encoding: 'utf8',
  });
  if (init.status !== 0) {
    removeDir();
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}):\n${init.stdout}${init.stderr}`);
  }
  return { dir, data, logFile: join(dir, 'postgres.log'), port: await freePort(), as, removeDir };
}


/** Resolves once the server at `url` answers a query; throws if it exits first or takes over 30 s. */
export async function waitUntilReady(url: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (gone) throw new Error('The PostgreSQL server exited during startup.');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`The PostgreSQL server did not accept connections within ${READY_TIMEOUT_MS / 1000} s: ${(error as Error).message}`);
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => {});
    }
  }
}
