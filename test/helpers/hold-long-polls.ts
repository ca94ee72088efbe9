/**
 * Opens `count` raw TCP connections to a server, each holding one long-poll (alternately
 * REST `/wait` and GraphQL `awaitTask`), prints "held" once every request is written, then
 * waits to be killed: its sockets all vanish at once, as crashed or departed clients do.
 * Usage: node --import tsx test/helpers/hold-long-polls.ts <port> <taskId> <count>
 */
import { connect, type Socket } from 'node:net';

const [port, taskId, count] = [Number(process.argv[2]), process.argv[3]!, Number(process.argv[4])];
const body = JSON.stringify({ query: `{ awaitTask(id: "${taskId}", timeout: 600) { id } }` });
const requests = [
  `GET /api/queue/poll/${taskId}/wait?timeout=600 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
  `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
];
const sockets: Socket[] = [];

function open(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(requests[i % 2]!);
      resolve();
    });
    socket.on('error', reject);
    sockets.push(socket);
  });
}

for (let start = 0; start < count; start += 250) {
  await Promise.all(Array.from({ length: Math.min(250, count - start) }, (_, i) => open(start + i)));
}
console.log('held');
setInterval(() => {}, 60_000);
