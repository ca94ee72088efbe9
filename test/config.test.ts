/**
 * Configuration: every default the README's Configuration table lists, API keys from
 * `API_KEYS` and `API_KEYS_FILE` with clear errors, and `TASK_RETENTION_HOURS` reaching the service.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, MIN_API_KEY_LENGTH, type Config } from '../src/config.js';
import { useApps, type TestApp } from './helpers/app.js';
import { bearer } from './helpers/graphql.js';

const apps = useApps();
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'config-'));
});
// Runs before useApps' check and close (after-hooks run last registered first): real timers for those.
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

/** The error `loadConfig(env)` throws; fails the test when it throws none. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The rows of the README's Configuration table: variable → its default cell, backticks removed. */
function readmeDefaults(): Map<string, { text: string; literal: boolean }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = /^## Configuration$([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const rows = new Map<string, { text: string; literal: boolean }>();
  for (const [, name, cell] of section.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]+?) \|/gm)) {
    const literal = /^`(.*)`$/.exec(cell!.trim());
    rows.set(name!, literal ? { text: literal[1]!, literal: true } : { text: cell!.trim(), literal: false });
  }
  return rows;
}

/** Where a variable's value lands, when its field is not simply the variable's name in camelCase: the field, and the value in it. */
const FIELD_OF: Record<string, [field: keyof Config, value: (config: Config) => unknown]> = {
  API_KEYS: ['apiKeys', (config) => config.apiKeys],
  API_KEYS_FILE: ['apiKeys', (config) => config.apiKeys],
  AUTH: ['allowOpenOnNetwork', (config) => config.allowOpenOnNetwork],
  CURSOR_SECRET: ['cursorKey', (config) => config.cursorKey.length],
  WS_KEEPALIVE_MS: ['wsKeepAliveMs', (config) => config.wsKeepAliveMs],
  MAX_QUERY_DEPTH: ['operationLimits', (config) => config.operationLimits.maxDepth],
  MAX_QUERY_ALIASES: ['operationLimits', (config) => config.operationLimits.maxAliases],
  MAX_QUERY_TOKENS: ['operationLimits', (config) => config.operationLimits.maxTokens],
  MAX_QUERY_COST: ['operationLimits', (config) => config.operationLimits.maxCost],
  MAX_QUERY_DIRECTIVES: ['operationLimits', (config) => config.operationLimits.maxDirectives],
};

/** Defaults the README states in words rather than as a value. */
const WORDED_DEFAULTS: Record<string, { readme: string; value: unknown }> = {
  API_KEYS: { readme: 'empty', value: [] },
  API_KEYS_FILE: { readme: 'unset', value: [] },
  AUTH: { readme: 'unset', value: false },
  CORS_ORIGINS: { readme: 'empty', value: [] },
  METRICS_TOKEN: { readme: 'unset', value: null },
  CURSOR_SECRET: { readme: 'unset', value: 32 },
  DEMO_SEED: { readme: 'random', value: expect.any(Number) },
};

const camel = (name: string) => name.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

function valueOf(config: Config, name: string): unknown {
  const special = FIELD_OF[name];
  if (special) return special[1](config);
  const field = camel(name);
  expect(Object.keys(config), `${name}: no Config field ${field}`).toContain(field);
  return config[field as keyof Config];
}

describe('defaults', () => {
  it('with nothing set, every variable in the README’s Configuration table has the default the table gives', () => {
    const rows = readmeDefaults();
    expect(rows.size).toBeGreaterThan(25);
    const config = loadConfig({});
    const actual: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, cell] of rows) {
      const value = valueOf(config, name);
      if (cell.literal) {
        actual[name] = String(value);
        expected[name] = cell.text;
      } else {
        expect(WORDED_DEFAULTS[name], `${name}: the README's default "${cell.text}" is no value; the test must be told what it means`).toBeDefined();
        expect(cell.text).toBe(WORDED_DEFAULTS[name]!.readme);
        actual[name] = value;
        expected[name] = WORDED_DEFAULTS[name]!.value;
      }
    }
    expect(actual).toEqual(expected);
  });

  it('an empty value is the default too', () => {
    const names = [...readmeDefaults().keys()].filter((name) => WORDED_DEFAULTS[name]?.readme !== 'random');
    const unset = loadConfig({});
    const empty = loadConfig(Object.fromEntries(names.map((name) => [name, ''])));
    expect(Object.fromEntries(names.map((name) => [name, valueOf(empty, name)]))).toEqual(
      Object.fromEntries(names.map((name) => [name, valueOf(unset, name)])),
    );
  });

  it('every setting is in the README’s table (the demo switches of `npm run demo` aside)', () => {
    const covered = new Set<string>();
    const config = loadConfig({});
    for (const name of readmeDefaults().keys()) {
      covered.add(FIELD_OF[name]?.[0] ?? camel(name));
    }
    const undocumented = Object.keys(config).filter((key) => !covered.has(key) && !key.startsWith('demo'));
    expect(undocumented).toEqual([]);
  });

  it('the config is frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.apiKeys)).toBe(true);
    expect(Object.isFrozen(config.operationLimits)).toBe(true);
  });
});

describe('API keys', () => {
  it('API_KEYS: entries separated by commas (or new lines), blanks ignored', () => {
    expect(loadConfig({ API_KEYS: ' alice-key-0123456789:alice:client , bob-key-0123456789:bob:worker\nops-key-0123456789:ops:admin,,' }).apiKeys).toEqual([
      { key: 'alice-key-0123456789', tenant: 'alice', role: 'client' },
      { key: 'bob-key-0123456789', tenant: 'bob', role: 'worker' },
      { key: 'ops-key-0123456789', tenant: 'ops', role: 'admin' },
    ]);
  });

  it('a malformed API_KEYS entry stops start-up with an error naming API_KEYS, never echoing a key', () => {
    const malformed = [
      'lonely-secret-key',
      'partial-secret-key:alice',
      'bad-role-secret-key:alice:superuser',
      'extra-secret-key:alice:client:more',
      ':alice:client',
      'no-tenant-secret-key::client',
      'no-role-secret-key:alice:',
    ];
    for (const entry of malformed) {
      const error = configError({ API_KEYS: `good-secret-key-0123:alice:client,${entry}` });
      expect(error.message).toMatch(/\bAPI_KEYS\b/);
      expect(error.message).toMatch(/key:tenant:role/);
      expect(error.message).not.toContain('secret-key');
    }
  });

  it('API_KEYS_FILE: one entry per line, `#` comment lines and blank lines skipped', () => {
    const file = join(dir, 'keys');
    writeFileSync(file, '# keys of the test tenants\nalice-key-0123456789:alice:client\n\n   bob-key-0123456789:bob:worker   \r\n#old-key-0123456789:alice:admin\nops-key-0123456789:ops:admin\n');
    expect(loadConfig({ API_KEYS_FILE: file }).apiKeys).toEqual([
      { key: 'alice-key-0123456789', tenant: 'alice', role: 'client' },
      { key: 'bob-key-0123456789', tenant: 'bob', role: 'worker' },
      { key: 'ops-key-0123456789', tenant: 'ops', role: 'admin' },
    ]);
  });

  it('API_KEYS_FILE: the running server takes its keys from the file; a commented-out key is refused', async () => {
    const file = join(dir, 'keys');
    writeFileSync(file, '# one client key\nalice-file-key-0123456789:alice:client\n# retired:\n# old-file-key-0123456789:alice:admin\n');
    const t = await apps.start({ API_KEYS_FILE: file });
    const list = `{ tasks { edges { node { id } } } }`;
    expect((await t.gql(list, {}, bearer('alice-file-key-0123456789'))).status).toBe(200);
    for (const key of ['old-file-key-0123456789', '# old-file-key-0123456789:alice:admin']) {
      const refused = await t.gql(list, {}, bearer(key));
      expect([refused.status, refused.errors?.[0]?.extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
  });

  it('a malformed line in API_KEYS_FILE: an error naming API_KEYS_FILE, never echoing a key', () => {
    const file = join(dir, 'keys');
    writeFileSync(file, '# keys\nalice-key-0123456789:alice:client\nbroken-secret-key:alice\n');
    const error = configError({ API_KEYS_FILE: file });
    expect(error.message).toMatch(/\bAPI_KEYS_FILE\b/);
    expect(error.message).not.toContain('secret-key');
  });

  it('an API_KEYS_FILE that cannot be read: an error naming API_KEYS_FILE, with the read error as its cause', () => {
    const error = configError({ API_KEYS_FILE: join(dir, 'no-such-file') });
    expect(error.message).toMatch(/\bAPI_KEYS_FILE\b/);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('the same key twice (whatever its tenant or role) stops start-up with an error naming the variable and both entries, never echoing the key', () => {
    const twice = [
      'dup-secret-key-0123:alice:client,other-key-0123456789:bob:worker,dup-secret-key-0123:alice:client',
      'dup-secret-key-0123:alice:client,other-key-0123456789:bob:worker,dup-secret-key-0123:bob:admin',
    ];
    for (const keys of twice) {
      const error = configError({ API_KEYS: keys });
      expect(error.message).toMatch(/\bAPI_KEYS\b/);
      expect(error.message).toMatch(/\b1\b.*\b3\b/);
      expect(error.message).not.toContain('dup-secret');
    }
    const file = join(dir, 'keys');
    writeFileSync(file, '# keys\ndup-secret-key-0123:alice:client\n\ndup-secret-key-0123:alice:worker\n');
    const fromFile = configError({ API_KEYS_FILE: file });
    expect(fromFile.message).toMatch(/\bAPI_KEYS_FILE\b/);
    expect(fromFile.message).not.toContain('dup-secret');
  });

  it(`a key shorter than ${MIN_API_KEY_LENGTH} characters stops start-up with an error naming the variable and the minimum, never echoing the key`, () => {
    const short = 'short-secret-15';
    expect(short).toHaveLength(MIN_API_KEY_LENGTH - 1);
    const error = configError({ API_KEYS: `long-enough-key-0123:alice:client,${short}:alice:worker` });
    expect(error.message).toMatch(/\bAPI_KEYS\b/);
    expect(error.message).toContain(String(MIN_API_KEY_LENGTH));
    expect(error.message).not.toContain('short-secret');
    expect(error.message).not.toContain('long-enough');
    const file = join(dir, 'keys');
    writeFileSync(file, `${short}:alice:client\n`);
    expect(configError({ API_KEYS_FILE: file }).message).toMatch(/\bAPI_KEYS_FILE\b/);
    // Exactly the minimum is enough.
    expect(loadConfig({ API_KEYS: `${short}x:alice:client` }).apiKeys).toEqual([{ key: `${short}x`, tenant: 'alice', role: 'client' }]);
  });
});

describe('TASK_RETENTION_HOURS', () => {
  it('parses hours, fractions allowed; refuses what is not a number of hours with an error naming it', () => {
    expect(loadConfig({ TASK_RETENTION_HOURS: '0.5' }).taskRetentionHours).toBe(0.5);
    expect(loadConfig({ TASK_RETENTION_HOURS: '720' }).taskRetentionHours).toBe(720);
    for (const value of ['-1', 'a week', 'Infinity', 'NaN']) {
      expect(configError({ TASK_RETENTION_HOURS: value }).message).toMatch(/\bTASK_RETENTION_HOURS\b/);
    }
  });

  it("reaches the running service: its own timer deletes a finished task once that many hours have passed", async () => {
    const T0 = Date.parse('2026-11-05T10:00:00.000Z');
    // Only the clock and the service's minute timer are faked; sockets and their timers run as usual.
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'], now: T0 });
    const short = await apps.start({ TASK_RETENTION_HOURS: '0.5' });
    const t = await apps.start();
    const finishedOn = async (app: TestApp) => {
      const { data } = await app.gql(`mutation { createTask(kind: "kept") { id } }`);
      await app.gql(`mutation($id: ID!) { cancelTask(id: $id) { id } }`, { id: data.createTask.id });
      return data.createTask.id as string;
    };
    const read = async (app: TestApp, id: string) => (await app.gql(`query($id: ID!) { task(id: $id) { id } }`, { id })).data.task;
    const onShort = await finishedOn(short);
    const onDefault = await finishedOn(t);
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(await read(short, onShort)).toEqual({ id: onShort });
    await vi.advanceTimersByTimeAsync(60_000);
    await expect.poll(() => read(short, onShort)).toBeNull();
    // The default (168 hours) keeps it.
    expect(await read(t, onDefault)).toEqual({ id: onDefault });
  });
});
