import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { freePort } from '../../tooling/ports.js';
import { expectNothingHeld, startApp, type TestApp } from './app.js';
import { startServerProcess, type ServerProcess } from './process.js';

/** Server processes on one database file, each started on the same port: a test stops one and starts the next. */
export interface RestartableServer {
  start(): Promise<ServerProcess>;
}

/**
 * The servers a test starts for itself, stopped after it: an in-process app (checked to hold
 * nothing, then closed), and server processes that share a database file in a fresh folder,
 * SIGKILLed if still running, the folder removed.
 */
export function useServers() {
  let app: TestApp | undefined;
  const processes: ServerProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    if (app) {
      const started = app;
      app = undefined;
      await expectNothingHeld(started.app);
      await started.close();
    }
    for (const server of processes.splice(0)) server.child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    async app(): Promise<TestApp> {
      app = await startApp();
      return app;
    },
    async restartable(): Promise<RestartableServer> {
      const dir = mkdtempSync(join(tmpdir(), 'servers-'));
      dirs.push(dir);
      const env = { DATABASE_URL: join(dir, 'tasks.db'), PORT: String(await freePort()) };
      return {
        async start() {
          const server = await startServerProcess(env);
          processes.push(server);
          return server;
        },
      };
    },
  };
}
