import { readFileSync } from 'node:fs';
import { createHash, randomInt } from 'node:crypto';
import type { ApiKey, Role } from './tasks/principal.js';

/** The whole configuration, parsed and validated once from the environment. */
export interface Config {
  /** @default 4000 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** A SQLite file path or `:memory:`, or a `postgres://` URL. @default './data/tasks.db' */
  databaseUrl: string;
  /** PostgreSQL: connections in this instance's pool (plus one that listens for other instances' writes). @default 10 */
  databasePoolSize: number;
  /** PostgreSQL: how often watched tasks are re-read, bounding how stale a lost notification can leave one. @default 5000 // ms */
  eventResyncMs: number;
  /** @default 'FULL' */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** A WAL larger than this is checkpointed and truncated as soon as readers allow. @default 67108864 // bytes */
  walMaxBytes: number;
  /** @default 60 // seconds */
  awaitTimeoutMaxSeconds: number;
  /** @default 168 // hours */
  taskRetentionHours: number;
  /** Empty: the server runs open, as one tenant. */
  apiKeys: readonly ApiKey[];
  /** `AUTH=none`: run open even on a non-loopback address. */
  allowOpenOnNetwork: boolean;
  /** @default 20000 */
  maxWaiters: number;
  /** @default 1000 */
  maxWaitersPerClient: number;
  /** @default 65536 // bytes */
  maxPayloadBytes: number;
  /** @default 1048576 // bytes */
  maxBodyBytes: number;
  /** Largest output chunk (`appendTaskOutput`'s data), in UTF-8 bytes: past it, RESOURCE_EXHAUSTED. @default 65536 // bytes */
  maxOutputChunkBytes: number;
  /** Most output one task may hold, in UTF-8 bytes over all its chunks: past it, RESOURCE_EXHAUSTED. @default 16777216 // bytes */
  maxOutputBytesPerTask: number;
  /** @default 100 */
  maxSubscriptionsPerConnection: number;
  /** @default 10000 */
  maxConnections: number;
  /**
   * Writes per second per tenant (every mutation; a token bucket's refill): past it and its
   * burst, RESOURCE_EXHAUSTED (HTTP 429 with Retry-After). @default 200
   */
  tenantWritesPerSecond: number;
  /** Writes a tenant may make at once before its rate applies (the bucket's size). @default 10000 */
  tenantWriteBurst: number;
  /** Most QUEUED tasks per tenant: createTask past it is RESOURCE_EXHAUSTED, nothing created. @default 100000 */
  maxQueuedPerTenant: number;
  /** Open subscriptions (SSE and WebSocket together) per client address. @default 1000 */
  maxStreamsPerClient: number;
  /** Open subscriptions (SSE and WebSocket together) per API key. @default 1000 */
  maxStreamsPerKey: number;
  /** WebSocket connections per client address, counted from the upgrade (before `connection_init`): more get HTTP 429. @default 1000 */
  maxConnectionsPerClient: number;
  /**
   * Authenticated WebSocket connections per API key, counted from `connection_init`: more are
   * closed with 4429 (RESOURCE_EXHAUSTED). @default 1000
   */
  maxConnectionsPerKey: number;
  /** How long a WebSocket may take to send `connection_init` before it is closed with 4408. @default 3000 // ms */
  wsInitTimeoutMs: number;
  /** Ping interval on idle WebSockets (a dead peer is dropped after two). @default 30000 // ms */
  wsKeepAliveMs: number;
  /** @default 10000 // ms */
  shutdownGraceMs: number;
  /** Per-operation limits (graphql-armor). @default { maxDepth: 10, maxAliases: 15, maxTokens: 2000, maxCost: 5000, maxDirectives: 50 } */
  operationLimits: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number; maxDirectives: number };
  /** @default true (false when NODE_ENV=production) */
  graphiql: boolean;
  /** @default true (false when NODE_ENV=production) */
  introspection: boolean;
  /**
   * Origins (`scheme://host[:port]`) whose pages may call the API from a browser: they get CORS
   * headers; a request or WebSocket upgrade carrying any other Origin but the server's own is
   * refused (403). @default [] // same origin only
   */
  corsOrigins: readonly string[];
  /**
   * Seals the `tasks` cursors (AES-256-GCM, 32 bytes): from `CURSOR_SECRET` (at least 16
   * characters) when set; else derived from the API keys, so that instances with the same keys
   * accept each other's cursors, before and after a restart (with no keys, one tenant, there is
   * no other tenant to hide anything from). Changing either invalidates earlier cursors.
   */
  cursorKey: Buffer;
  /** `Authorization: Bearer <token>` that `/metrics` requires; null: open on a loopback `host`, refused on any other. @default null */
  metricsToken: string | null;
  /**
   * Serve plain JSON GraphQL requests through the lean route (`src/http/graphql-http.ts`);
   * `false` sends every request through `yoga.handle`. @default true
   */
  graphqlFastPath: boolean;
  /**
   * How many times one document runs on graphql-js before graphql-jit compiles it: a document
   * used once (an id written into its text) is never compiled. 0 compiles at the first use. @default 1
   */
  graphqlCompileAfter: number;
  /** @default 'info' */
  logLevel: string;
  /** `DEMO=true` (`npm run demo`): seed demo tasks and run a built-in demo worker. */
  demo: boolean;
  /** Seed of the demo worker's choices (step times, failures, results), for a repeatable demo. @default random */
  demoSeed: number;
  /** Shortest demo step, in ms; each of the 8 steps takes 1 to 2 times it. @default 400 */
  demoStepMs: number;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; throws a ConfigError naming the variable at fault. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const keys = apiKeys(env);
  return Object.freeze({
    port: int(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || './data/tasks.db',
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 1_000),
    eventResyncMs: int(env, 'EVENT_RESYNC_MS', 5_000, 100, 3_600_000),
    sqliteSynchronous: oneOf(env, 'SQLITE_SYNCHRONOUS', ['FULL', 'NORMAL'] as const, 'FULL'),
    walMaxBytes: int(env, 'WAL_MAX_BYTES', 64 * 1024 * 1024, 1, 1e12),
    awaitTimeoutMaxSeconds: num(env, 'AWAIT_TIMEOUT_MAX_SECONDS', 60, 0, 86_400),
    taskRetentionHours: num(env, 'TASK_RETENTION_HOURS', 168, 0, 1e6),
    apiKeys: Object.freeze(keys),
    cursorKey: cursorKey(token(env, 'CURSOR_SECRET'), keys),
    allowOpenOnNetwork: env.AUTH === 'none',
    maxWaiters: int(env, 'MAX_WAITERS', 20_000, 0, 1e7),
    maxWaitersPerClient: int(env, 'MAX_WAITERS_PER_CLIENT', 1_000, 0, 1e7),
    maxPayloadBytes: int(env, 'MAX_PAYLOAD_BYTES', 65_536, 1, 1e9),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1_048_576, 1, 1e9),
    maxOutputChunkBytes: int(env, 'MAX_OUTPUT_CHUNK_BYTES', 65_536, 1, 1e9),
    maxOutputBytesPerTask: int(env, 'MAX_OUTPUT_BYTES_PER_TASK', 16 * 1024 * 1024, 1, 1e12),
    maxSubscriptionsPerConnection: int(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1, 1e6),
    maxConnections: int(env, 'MAX_CONNECTIONS', 10_000, 1, 1e7),
    tenantWritesPerSecond: num(env, 'TENANT_WRITES_PER_SECOND', 200, 0.001, 1e9),
    tenantWriteBurst: int(env, 'TENANT_WRITE_BURST', 10_000, 1, 1e9),
    maxQueuedPerTenant: int(env, 'MAX_QUEUED_PER_TENANT', 100_000, 1, 1e9),
    maxStreamsPerClient: int(env, 'MAX_STREAMS_PER_CLIENT', 1_000, 1, 1e7),
    maxStreamsPerKey: int(env, 'MAX_STREAMS_PER_KEY', 1_000, 1, 1e7),
    maxConnectionsPerClient: int(env, 'MAX_CONNECTIONS_PER_CLIENT', 1_000, 1, 1e7),
    maxConnectionsPerKey: int(env, 'MAX_CONNECTIONS_PER_KEY', 1_000, 1, 1e7),
    wsInitTimeoutMs: int(env, 'WS_INIT_TIMEOUT_MS', 3_000, 1, 600_000),
    wsKeepAliveMs: int(env, 'WS_KEEPALIVE_MS', 30_000, 1_000, 3_600_000),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    operationLimits: Object.freeze({
      maxDepth: int(env, 'MAX_QUERY_DEPTH', 10, 1, 1000),
      maxAliases: int(env, 'MAX_QUERY_ALIASES', 15, 0, 10_000),
      maxTokens: int(env, 'MAX_QUERY_TOKENS', 2_000, 1, 1e6),
      maxCost: int(env, 'MAX_QUERY_COST', 5_000, 1, 1e9),
      maxDirectives: int(env, 'MAX_QUERY_DIRECTIVES', 50, 0, 10_000),
    }),
    graphiql: bool(env, 'GRAPHIQL', env.NODE_ENV !== 'production'),
    introspection: bool(env, 'INTROSPECTION', env.NODE_ENV !== 'production'),
    corsOrigins: Object.freeze(origins(env, 'CORS_ORIGINS')),
    metricsToken: token(env, 'METRICS_TOKEN'),
    graphqlFastPath: bool(env, 'GRAPHQL_FAST_PATH', true),
    graphqlCompileAfter: int(env, 'GRAPHQL_COMPILE_AFTER', 1, 0, 1_000_000),
    logLevel: env.LOG_LEVEL || 'info',
    demo: bool(env, 'DEMO', false),
    demoSeed: int(env, 'DEMO_SEED', randomInt(2 ** 31), 0, 2 ** 31 - 1),
    demoStepMs: int(env, 'DEMO_STEP_MS', 400, 0, 60_000),
  });
}

const ROLES: readonly Role[] = ['client', 'worker', 'admin'];

/** The keys of `API_KEYS_FILE` when it is set, else of `API_KEYS`. */
function apiKeys(env: Env): ApiKey[] {
  const file = env.API_KEYS_FILE;
  if (!file) return parseApiKeys(env.API_KEYS ?? '');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`API_KEYS_FILE: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, { cause: error });
  }
  return parseApiKeys(text, 'API_KEYS_FILE');
}

/** Shortest API key accepted: a guessable key is no key. */
export const MIN_API_KEY_LENGTH = 16;

/**
 * `key:tenant:role` entries separated by commas or new lines; `source` names where they came
 * from in errors, which name entries by their position (1 for the first), never by their key.
 * Each key is at least MIN_API_KEY_LENGTH characters and appears once.
 */
export function parseApiKeys(text: string, source = 'API_KEYS'): ApiKey[] {
  const keys = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'))
    .map((entry) => {
      const [key, tenant, role, ...rest] = entry.split(':');
      if (!key || !tenant || !ROLES.includes(role as Role) || rest.length > 0) {
        throw new ConfigError(`${source}: an entry is not key:tenant:role with role one of ${ROLES.join(', ')}.`);
      }
      return { key, tenant, role: role as Role };
    });
  const firstEntryOf = new Map<string, number>();
  keys.forEach(({ key }, i) => {
    if (key.length < MIN_API_KEY_LENGTH) {
      throw new ConfigError(`${source}: the key of entry ${i + 1} is shorter than ${MIN_API_KEY_LENGTH} characters.`);
    }
    const first = firstEntryOf.get(key);
    if (first !== undefined) throw new ConfigError(`${source}: entries ${first} and ${i + 1} have the same key; each key must appear once.`);
    firstEntryOf.set(key, i + 1);
  });
  return keys;
}

/** A comma-separated list of web origins, each `http(s)://host[:port]` (a trailing `/` is dropped), normalized as browsers send them. */
function origins(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      let url: URL | null = null;
      try {
        url = new URL(entry);
      } catch {
        // refused below
      }
      const bare = url && (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.search && !url.hash && url.pathname === '/';
      if (!url || !bare || !/^https?:\/\/[^/?#]+\/?$/i.test(entry)) {
        throw new ConfigError(`${name} must list origins such as https://app.example.com:8443, separated by commas; got "${entry}".`);
      }
      return url.origin;
    });
}

/** The 32-byte key that seals cursors: from the secret when there is one, else from the API keys (in any order). */
function cursorKey(secret: string | null, keys: readonly ApiKey[]): Buffer {
  const material = secret ?? keys.map(({ key }) => key).sort().join('\u0000');
  return createHash('sha256').update(`task cursors\u0000${material}`).digest();
}

/** A bearer token: at least 16 characters, none of them white space; null when unset. */
function token(env: Env, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (raw.length < 16 || /\s/.test(raw)) throw new ConfigError(`${name} must be at least 16 characters without white space.`);
  return raw;
}

function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}; got "${raw}".`);
  }
  return value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = num(env, name, fallback, min, max);
  if (!Number.isInteger(value)) throw new ConfigError(`${name} must be an integer; got "${env[name]}".`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false; got "${raw}".`);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.toUpperCase() as T;
  if (!values.includes(value)) throw new ConfigError(`${name} must be one of ${values.join(', ')}; got "${raw}".`);
  return value;
}
