/**
 * Vitest globalSetup: compiles src/ into dist/ (`npm run build`) unless dist/ is newer than
 * every source, so that the suites that start the server as its own process run what
 * `npm start` runs in production: compiled JavaScript on plain node.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestMtime } from '../helpers/mtime.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILT = join(ROOT, 'dist/main.js');
const SOURCES = [join(ROOT, 'src'), join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')];

export default function setup(): void {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs > newestMtime(SOURCES)) return;
  // Built beside dist/ and swapped in at once: a server that another run starts never finds a half-built dist/.
  const fresh = join(ROOT, `dist.building-${process.pid}`);
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', fresh], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) {
    rmSync(fresh, { recursive: true, force: true });
    throw new Error(`npm run build failed (exit ${tsc.status}):\n${tsc.stdout}${tsc.stderr}`);
  }
  const old = join(ROOT, `dist.old-${process.pid}`);
  if (existsSync(join(ROOT, 'dist'))) renameSync(join(ROOT, 'dist'), old);
  renameSync(fresh, join(ROOT, 'dist'));
  rmSync(old, { recursive: true, force: true });
}
