/** Where the service is: the dashboard is served by it, so the same origin. */
export const GRAPHQL_HTTP_URL = '/graphql';

export function graphqlWebSocketUrl(location: Location = window.location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
}

/**
 * An optional API key, for a service started with API_KEYS: `localStorage.apiKey`, set by hand
 * or from a link `?key=…` that the user accepted. A link could carry anyone's key (switching
 * the dashboard into another tenant, whose tasks the user would then create and cancel), so a
 * key from the address bar that differs from the kept one is used only after the user says
 * yes. Either way it is taken out of the address bar, so that it does not end up in history,
 * bookmarks or screenshots.
 */
export function readApiKey(): string | undefined {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('key');
  if (fromUrl !== null) {
    url.searchParams.delete('key');
    window.history.replaceState(null, '', url);
  }
  const kept = keptApiKey();
  if (!fromUrl || fromUrl === kept) return kept;
  const question = kept
    ? 'This link carries a different API key. Switch this dashboard to it? You would then see and act on the tasks of whoever that key belongs to. Only accept a link you asked for.'
    : 'This link carries an API key. Use it in this dashboard? You would then see and act on the tasks of whoever that key belongs to. Only accept a link you asked for.';
  if (!window.confirm(question)) return kept;
  try {
    window.localStorage.setItem('apiKey', fromUrl);
  } catch {
    // storage may be disabled; the key still works for this page
  }
  return fromUrl;
}

function keptApiKey(): string | undefined {
  try {
    return window.localStorage.getItem('apiKey') || undefined;
  } catch {
    return undefined;
  }
}
