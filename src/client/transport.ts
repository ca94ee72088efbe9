import { createClient } from 'graphql-ws';

/** How `followTask` and `followTasks` reach the server, tried in the order given. */
export type Transport = 'ws' | 'sse' | 'poll';

/** Where the server is and how to reach it. */
export interface Endpoint {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** Sent as `Authorization: Bearer <key>` (and in graphql-ws's `connection_init`). */
  apiKey?: string;
  /** Ends the iteration (without an error) and closes whatever connection is open. */
  signal?: AbortSignal;
  /** The WebSocket URL. @default `url` with ws(s):// */
  wsUrl?: string;
  /** A WebSocket constructor where there is no global one (Node 20: the `ws` package). */
  webSocketImpl?: unknown;
}

export interface GraphQLResult {
  data?: Record<string, unknown> | null;
  errors?: readonly { message: string; extensions?: { code?: string } }[];
}

/** One GraphQL request over HTTP POST; throws when the server does not answer 2xx. */
export async function post(endpoint: Endpoint, query: string, variables: Record<string, unknown>): Promise<GraphQLResult> {
  const response = await fetch(endpoint.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization(endpoint) },
    body: JSON.stringify({ query, variables }),
    signal: endpoint.signal,
  });
  if (!response.ok) throw new Error(`${endpoint.url} answered ${response.status}.`);
  return (await response.json()) as GraphQLResult;
}

/**
 * A subscription's results over graphql-ws, on a connection of its own that it closes however it
 * ends; returns when the server completes it. Throws the `errors` array graphql-ws hands over
 * when the server answers with an error, and an error when the connection is lost or refused.
 * `onOpen` is called once the server acknowledged the connection.
 */
export async function* overWebSocket(endpoint: Endpoint, query: string, variables: Record<string, unknown>, onOpen?: () => void): AsyncGenerator<GraphQLResult, void> {
  const client = createClient({
    url: endpoint.wsUrl ?? endpoint.url.replace(/^http/, 'ws'),
    webSocketImpl: endpoint.webSocketImpl,
    connectionParams: endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : undefined,
    retryAttempts: 0,
    lazy: true,
    on: onOpen ? { connected: () => onOpen() } : undefined,
  });
  const iterator = client.iterate<Record<string, unknown>>({ query, variables });
  const stop = () => void iterator.return?.();
  endpoint.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const result of iterator) yield result as GraphQLResult;
  } finally {
    endpoint.signal?.removeEventListener('abort', stop);
    await client.dispose();
  }
}

/**
 * The longest Server-Sent Event `overSse` takes, in characters (so at least 16 MiB): a server
 * that never ends an event with a blank line cannot make the reader's buffer grow without end.
 * The server's largest event, a task with its input, result and a page of output, is a few MiB.
 */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * A subscription's results over Server-Sent Events (Yoga's GET form); returns when the server
 * sends `complete`, throws when the stream ends without it, the request is refused, or an event
 * grows past MAX_SSE_EVENT_CHARS. `onOpen` is called once the server accepted the request.
 */
export async function* overSse(endpoint: Endpoint, query: string, variables: Record<string, unknown>, onOpen?: () => void): AsyncGenerator<GraphQLResult, void> {
  const search = new URLSearchParams({ query, variables: JSON.stringify(variables) });
  const response = await fetch(`${endpoint.url}?${search}`, {
    headers: { accept: 'text/event-stream', 'x-graphql-yoga-csrf': '1', ...authorization(endpoint) },
    signal: endpoint.signal,
  });
  if (!response.ok || !response.body) throw new Error(`SSE answered ${response.status}.`);
  onOpen?.();
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  // The event under way: its lines, the start of its next one (a read may end mid-line), its size.
  let lines: string[] = [];
  let partial = '';
  let size = 0;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      // Only the new text is searched: a long event costs its length once, not once per read.
      const text = decoder.decode(read.value, { stream: true });
      let from = 0;
      let eventFrom = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', from)) {
        const line = partial + text.slice(from, end);
        partial = '';
        from = end + 1;
        if (line !== '') {
          lines.push(line);
          continue;
        }
        // A blank line ends the event.
        const event = lines;
        lines = [];
        size = 0;
        eventFrom = from;
        if (event.includes('event: complete')) return;
        const data = event.find((field) => field.startsWith('data: '))?.slice('data: '.length);
        if (data) yield JSON.parse(data) as GraphQLResult;
      }
      partial += text.slice(from);
      size += text.length - eventFrom;
      if (size > MAX_SSE_EVENT_CHARS) throw new Error(`An event of the SSE stream grew past ${MAX_SSE_EVENT_CHARS} characters without ending; stopped reading.`);
    }
  } finally {
    // However it ends (complete, the consumer stopped, an error), the response is let go; a
    // stream that already failed cannot be cancelled, and its own error is the one to throw.
    await reader.cancel().catch(() => {});
  }
  throw new Error('The SSE stream ended before the subscription did.');
}

const authorization = (endpoint: Endpoint): Record<string, string> =>
  endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {};
