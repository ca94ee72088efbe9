import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, freshDatabase } from '../helpers/postgres.js';

/** Proves the wiring: a real server, and fresh databases that do not see each other. */
describeWithPostgres('test PostgreSQL server', () => {
  let a: Awaited<ReturnType<typeof freshDatabase>>;
  let b: Awaited<ReturnType<typeof freshDatabase>>;
  const clients: pg.Client[] = [];

  async function connect(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it('is PostgreSQL, and each fresh database is its own', async () => {
    expect(a.url).not.toBe(b.url);
    const [ca, cb] = await Promise.all([connect(a.url), connect(b.url)]);

    const { rows } = await ca.query<{ version: string }>('SELECT version()');
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);

    await ca.query('CREATE TABLE only_in_a (id int)');
    await ca.query('INSERT INTO only_in_a VALUES (1)');
    expect((await ca.query('SELECT count(*)::int AS n FROM only_in_a')).rows[0]).toEqual({ n: 1 });
    const inB = await cb.query(`SELECT to_regclass('only_in_a') AS t`);
    expect(inB.rows[0]).toEqual({ t: null });
    await expect(cb.query('SELECT * FROM only_in_a')).rejects.toThrow(/does not exist/);
  });

  it('drops a database even with a connection still open', async () => {
    const extra = await freshDatabase();
    const client = new pg.Client({ connectionString: extra.url });
    client.on('error', () => {}); // the forced drop terminates it
    await client.connect();
    await extra.drop();
    await expect(connect(extra.url)).rejects.toThrow(/does not exist/);
    await client.end().catch(() => {});
  });
});
