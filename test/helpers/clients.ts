import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { expect } from 'vitest';

/** A real graphql-ws client over a real socket; `close()` disposes it. */
export function wsClient(url: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({ url, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

/** Runs one subscription to its end and returns every payload (or throws its errors). */
export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: T[] = [];
  let unsubscribe = () => {};
  const finished = new Promise<T[]>((resolve, reject) => {
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => results.push(value as T),
        error: reject,
        complete: () => resolve(results),
      },
    );
  });
  // Callers may look at the outcome late; a rejection meanwhile is not an unhandled one.
  finished.catch(() => {});
  return { results, finished, unsubscribe: () => unsubscribe() };
}

/** A raw graphql-transport-ws socket, for protocol-level cases the client library hides. */
export async function rawSocket(url: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages, closed, send: (message: unknown) => socket.send(JSON.stringify(message)) };
}

/** A raw socket past `connection_init` and its `connection_ack`. */
export async function ackedSocket(url: string, payload?: Record<string, unknown>) {
  const raw = await rawSocket(url);
  raw.send({ type: 'connection_init', payload });
  await expect.poll(() => raw.messages.some((message) => message.type === 'connection_ack')).toBe(true);
  return raw;
}
