/**
 * Baseline for fan-out: a WebSocket server speaking just enough graphql-transport-ws for
 * the same subscribers (ack, then the task's state on subscribe). `POST /broadcast`
 * serializes one `next` frame, once, and sends that buffer to every subscribed socket: the
 * least a server can do to tell every subscriber about one change.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenAsBaseline } from '../lib/baseline.js';

const subscribers = new Set<WebSocket>();
let revision = 2;

/** The same fields the API's subscription selects, shaped as the API sends them. */
function nextFrame(subscriptionId: string): string {
  const task = {
    id: 'broadcast-task-000000',
    status: 'RUNNING',
    progress: revision % 100,
    message: null,
    revision,
    done: false,
    updatedAt: new Date().toISOString(),
  };
  return JSON.stringify({ id: subscriptionId, type: 'next', payload: { data: { taskUpdated: task } } });
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url !== '/broadcast') {
      res.writeHead(404).end();
      return;
    }
    revision++;
    const frame = Buffer.from(nextFrame('1'));
    for (const socket of subscribers) socket.send(frame, { binary: false });
    const body = JSON.stringify({ sent: subscribers.size, revision });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

const PROTOCOL = 'graphql-transport-ws';
const wss = new WebSocketServer({ server, path: '/graphql', handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false) });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string };
    if (message.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
    else if (message.type === 'subscribe' && message.id) {
      subscribers.add(socket);
      socket.send(nextFrame(message.id));
    } else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
  });
  socket.on('close', () => subscribers.delete(socket));
});

listenAsBaseline(server);
