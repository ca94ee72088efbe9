import type { Server } from 'node:http';

/**
 * Starts a baseline server on HOST:PORT (from the environment), logs
 * `{"msg":"listening","url":…}` as the API server does, and exits when the orchestrator's
 * end of stdin closes, so a baseline never outlives its run.
 */
export function listenAsBaseline(server: Server): void {
  const host = process.env.HOST ?? '127.0.0.1';
  server.listen(Number(process.env.PORT ?? 0), host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    console.log(JSON.stringify({ msg: 'listening', url: `http://${host}:${port}` }));
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => process.exit(0));
}
