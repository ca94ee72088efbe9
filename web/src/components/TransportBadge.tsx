import { useTransport } from '../live';

const TEXT = {
  connecting: 'live: connecting…',
  websocket: 'live: WebSocket',
  'long-polling': 'live: long-polling',
} as const;

const TITLE = {
  connecting: 'Opening a WebSocket to the service…',
  websocket: 'The list follows its change feed with a taskChanges subscription over one WebSocket (graphql-ws).',
  'long-polling': 'The list follows its change feed with awaitTaskChanges long-polls over HTTP',
} as const;

/** Says how the page gets its live updates. */
export function TransportBadge() {
  const { mode, reason } = useTransport();
  const title = !reason ? TITLE[mode] : mode === 'long-polling' ? `${TITLE[mode]}: ${reason}.` : `${TITLE[mode]} (${reason})`;
  return (
    <span className={`transport transport--${mode}`} role="status" title={title} data-testid="transport-badge" data-mode={mode}>
      <span className="transport__dot" aria-hidden="true" />
      {TEXT[mode]}
    </span>
  );
}

/**
 * Why the page long-polls, in the page itself (the badge's tooltip is out of reach for
 * keyboard and touch): shown only after the fallback.
 */
export function FallbackNotice() {
  const { mode, reason } = useTransport();
  if (mode !== 'long-polling') return null;
  return (
    <p className="notice" data-testid="fallback-notice">
      Live updates come by long-polling{reason ? ` (${reason})` : ''}. They still arrive as they happen, over more
      requests; reload the page to try the WebSocket again.
    </p>
  );
}
