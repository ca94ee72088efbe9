/**
 * A separate process (so that its sockets close on the wire while the server is busy, as a real
 * client's do): `tsx vanishing-subscribers.ts <baseUrl> <rounds> <subscribers>`. Each round
 * subscribes that many raw graphql-ws sockets to a running task, sends the completing mutation
 * on a raw keep-alive connection and, right after it, cuts every subscriber without a close
 * frame. Prints "done" at the end.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';

const [baseUrl, rounds, count] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const { hostname, port } = new URL(baseUrl);
const wsUrl = `ws://${hostname}:${port}/graphql`;

const gql = async (query: string) =>
  (await (await fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as {
    data: Record<string, { id: string }>;
  };

for (let round = 0; round < rounds; round++) {
  const kind = `vanishing-${round}`;
  const id = (await gql(`mutation { createTask(kind: "${kind}", maxAttempts: 1) { id } }`)).data.createTask!.id;
  await gql(`mutation { claimTask(kinds: ["${kind}"], workerId: "w", leaseSeconds: 600) { id } }`);
  const sockets: WebSocket[] = [];
  const open = () =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string };
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { taskUpdated(id: "${id}") { revision done } }` } }));
        } else if (message.type === 'next') resolve();
      });
    });
  for (let opened = 0; opened < count; opened += 250) await Promise.all(Array.from({ length: Math.min(250, count - opened) }, open));
  const raw = connect(Number(port), hostname);
  await new Promise((resolve) => raw.once('connect', resolve));
  const answered = new Promise((resolve) => raw.once('data', resolve));
  const body = JSON.stringify({ query: `mutation { completeTask(id: "${id}", workerId: "w") { id } }` });
  raw.write(`POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  for (const socket of sockets) socket.terminate();
  await answered;
  raw.destroy();
}
console.log('done');
process.exit(0);
