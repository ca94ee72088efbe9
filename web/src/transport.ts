import { createClient, type Client } from 'graphql-ws';

/**
 * How the dashboard follows tasks:
 * - `connecting`: the WebSocket is being opened (the first time, for at most
 *   CONNECT_TIMEOUT_MS), or reopened after it dropped;
 * - `websocket`: the list's `taskChanges` subscription (and each open output log's
 *   `taskOutput`), over one graphql-ws connection;
 * - `long-polling`: the WebSocket could not be opened (a proxy that drops upgrades, say), or
 *   could not be reopened, so the list is followed with `awaitTaskChanges(after)` over plain
 *   HTTP instead. The switch to long-polling is for the life of the page.
 */
export type TransportMode = 'connecting' | 'websocket' | 'long-polling';

export interface Transport {
  /** graphql-ws client for Apollo's subscription link. */
  readonly wsClient: Client;
  getMode(): TransportMode;
  /** Why the page is long-polling or reconnecting, for the badge's tooltip. */
  getReason(): string | undefined;
  /** For useSyncExternalStore. */
  subscribe(listener: () => void): () => void;
}

export interface TransportOptions {
  url: string;
  apiKey?: string;
  /** How long the first connection may take. */
  connectTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 3_000;

export function createTransport({ url, apiKey, connectTimeoutMs = CONNECT_TIMEOUT_MS }: TransportOptions): Transport {
  let mode: TransportMode = 'connecting';
  let reason: string | undefined;
  const listeners = new Set<() => void>();
  const setMode = (next: TransportMode, why?: string) => {
    if (mode === next) return;
    mode = next;
    reason = why;
    for (const listener of listeners) listener();
  };

  // Until a first connection is acknowledged, any failure means the WebSocket cannot get
  // through (a proxy that drops or stalls upgrades), and the page falls back at once. Once one
  // has worked, a dropped connection is more likely the service restarting: graphql-ws
  // retries it (meanwhile the badge says "connecting…" and the cards pause their
  // subscriptions, then resubscribe from the revision they show), and only if it gives up does
  // the page fall back.
  let everConnected = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const fallBack = (why: string) => {
    clearTimeout(timer);
    if (mode === 'long-polling') return;
    setMode('long-polling', why);
    // Give up on the socket (terminate() also ends one still waiting for its handshake or
    // acknowledgement) and stop graphql-ws from retrying; open subscriptions end and the task
    // cards switch to long-polling. dispose() may reject with the close event of a socket
    // that never connected: nothing to report.
    wsClient.terminate();
    Promise.resolve(wsClient.dispose()).catch(() => {});
  };

  const wsClient = createClient({
    url,
    // Connect right away: the badge shows the transport before any task needs it.
    lazy: false,
    connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    retryAttempts: 5,
    // Retries used up, or a close code that graphql-ws will not retry.
    onNonLazyError: (error) => fallBack(`the WebSocket connection was lost (${describe(error)})`),
    on: {
      connecting: () => {
        clearTimeout(timer);
        if (!everConnected) {
          timer = setTimeout(() => fallBack(`no WebSocket connection within ${connectTimeoutMs / 1000} s`), connectTimeoutMs);
        }
      },
      connected: () => {
        everConnected = true;
        clearTimeout(timer);
        if (mode !== 'long-polling') setMode('websocket');
      },
      closed: (event) => {
        clearTimeout(timer);
        if (!everConnected) fallBack(`the WebSocket closed before connecting (${describe(event)})`);
        else if (mode === 'websocket') setMode('connecting', 'the connection dropped; reconnecting');
      },
      error: () => {
        if (!everConnected) fallBack('the WebSocket could not be opened');
      },
    },
  });

  return {
    wsClient,
    getMode: () => mode,
    getReason: () => reason,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function describe(errorOrCloseEvent: unknown): string {
  if (typeof errorOrCloseEvent === 'object' && errorOrCloseEvent !== null && 'code' in errorOrCloseEvent) {
    return `code ${String(errorOrCloseEvent.code)}`;
  }
  return errorOrCloseEvent instanceof Error ? errorOrCloseEvent.message : 'no close code';
}
