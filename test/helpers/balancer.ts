import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP load balancer for tests, like the one in front of several instances in production:
 * each new connection goes to the next backend in turn; a backend that refuses is skipped.
 * It passes WebSocket upgrades and long requests through untouched.
 */
export async function startBalancer(backends: string[]) {
  const targets = backends.map((url) => new URL(url));
  const open = new Set<Socket>();
  let next = 0;

  const server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pause();
    const attempt = (tries: number) => {
      if (tries === 0) return client.destroy();
      const target = targets[next++ % targets.length]!;
      const upstream = connect(Number(target.port), target.hostname);
      let connected = false;
      upstream.on('error', () => {
        if (connected) client.destroy();
        else attempt(tries - 1);
      });
      upstream.once('connect', () => {
        connected = true;
        open.add(upstream);
        upstream.once('close', () => {
          open.delete(upstream);
          client.destroy();
        });
        client.once('close', () => upstream.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    attempt(targets.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    /** Cuts every open connection (as a proxy that restarts would), and keeps accepting new ones. */
    drop() {
      for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
