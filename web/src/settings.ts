/** Where the service is: the dashboard is served by it, so the same origin. */
export const GRAPHQL_HTTP_URL = '/graphql';

export function graphqlWebSocketUrl(location: Location = window.location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
}

/**
 * An optional API key, for a service started with API_KEYS: `?key=…` once (it is then kept
 * in localStorage and taken out of the address bar, so it does not end up in history or
 * screenshots), or `localStorage.apiKey` set by hand.
 */
export function readApiKey(): string | undefined {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('key');
  if (fromUrl) {
    try {
      window.localStorage.setItem('apiKey', fromUrl);
    } catch {
      // storage may be disabled; the key still works for this page
    }
    url.searchParams.delete('key');
    window.history.replaceState(null, '', url);
    return fromUrl;
  }
  try {
    return window.localStorage.getItem('apiKey') || undefined;
  } catch {
    return undefined;
  }
}
