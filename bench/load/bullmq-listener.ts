/**
 * Load process: a BullMQ QueueEvents listener that timestamps every `progress` event on
 * arrival; each event carries the time its `updateProgress` call was made.
 */
import { QueueEvents } from 'bullmq';
import { wallNow } from '../lib/clock.js';
import { serveCommands } from '../lib/protocol.js';

let events: QueueEvents | null = null;
let latencies: number[] = [];

async function start({ port, name }: { port: number; name: string }): Promise<void> {
  events = new QueueEvents(name, { connection: { host: '127.0.0.1', port } });
  events.on('progress', ({ data }) => {
    const sentAt = typeof data === 'object' && data !== null ? (data as { sentAt?: unknown }).sentAt : undefined;
    if (typeof sentAt === 'number') latencies.push(wallNow() - sentAt);
  });
  await events.waitUntilReady();
}

function mark(): void {
  latencies = [];
}

/** Waits until `count` events arrived since `mark` (or `timeoutMs`); returns each one's latency in ms. */
async function collect({ count, timeoutMs }: { count: number; timeoutMs: number }): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (latencies.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return latencies;
}

async function close(): Promise<void> {
  await events?.close();
}

serveCommands({ start, mark, collect, close });
