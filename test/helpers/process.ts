import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the server as `npm start` does, compiled (`dist/main.js`, which test/setup/build.ts
 * keeps current) on plain node, as its own process on port 0; resolves once it listens. `logs`
 * collects its log lines (also when it exits before listening).
 */
export async function startServerProcess(env: Record<string, string>, logs: Record<string, unknown>[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/main.js'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'task status API listening') resolve(String(entry.url).replace(/\/graphql$/, ''));
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code} before listening`)));
  });
  const url = await listening;
  return { child, url, wsUrl: `${url.replace('http', 'ws')}/graphql`, logs, exited };
}
