import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Whatever could carry a credential is censored on every log line, at the top level and one
 * level down (e.g. `req.headers.authorization`, `config.apiKeys`).
 */
export const REDACTED_KEYS = ['authorization', 'cookie', 'apiKey', 'apiKeys', 'key', 'password', 'secret', 'token'];

export const REDACTED_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((key) => `*.${key}`),
  ...REDACTED_KEYS.map((key) => `*.headers.${key}`),
];

/** The service's pino logger: JSON lines, credentials redacted. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

/** A database URL fit for a log line: PostgreSQL's password replaced, a file path as it is. */
export function describeDatabaseUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
