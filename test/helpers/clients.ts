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

export interface SseEvent {
  event: string;
  data: any;
}

/**
 * A subscription over Server-Sent Events on a real socket (GET with `Accept: text/event-stream`):
 * its events as they arrive. `done` resolves when the server ends the stream or `abort()` is
 * called, and rejects when the answer is not an event stream or the connection breaks mid-event.
 */
export function openSse(baseUrl: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const events: SseEvent[] = [];
  const search = new URLSearchParams({ query, variables: JSON.stringify(variables) });
  const done = (async () => {
    const response = await fetch(`${baseUrl}/graphql?${search}`, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const type = response.headers.get('content-type') ?? '';
    if (response.status !== 200 || !type.startsWith('text/event-stream')) {
      throw new Error(`not an event stream: ${response.status} ${type} ${await response.text()}`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) events.push({ event, data: data ? JSON.parse(data) : null });
      }
    }
    if (buffer.trim() !== '') throw new Error(`the stream ended mid-event: ${buffer}`);
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  // Callers may look at the outcome late; a rejection meanwhile is not an unhandled one.
  done.catch(() => {});
  return { events, done, abort: () => abort.abort() };
}
