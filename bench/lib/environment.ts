import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { postgresVersion } from './postgres.js';
import { ROOT } from './processes.js';

/** Packages whose versions decide the numbers, read from node_modules (what actually ran). */
const PACKAGES = [
  'graphql',
  'graphql-yoga',
  '@pothos/core',
  'graphql-ws',
  'ws',
  'better-sqlite3',
  'drizzle-orm',
  'pg',
  'pino',
  'tsx',
  'autocannon',
  'bullmq',
  'ioredis',
];

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function commandOutput(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** The machine, the software versions and the commit a run measured. */
export function describeEnvironment() {
  const cpuList = cpus();
  return {
    machine: {
      os: `${osType()} ${release()}`,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      cores: cpuList.length,
      memoryBytes: totalmem(),
      freeMemoryBytes: freemem(),
    },
    versions: {
      node: process.version,
      redisServer: commandOutput('/usr/bin/redis-server', ['--version']),
      postgres: postgresVersion(),
      ...Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
    },
    commit: commandOutput('git', ['rev-parse', 'HEAD']),
  };
}
