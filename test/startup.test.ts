import { describe, expect, it } from 'vitest';
import { startServerProcess } from './helpers/process.js';

describe('start-up', () => {
  it('refuses to serve open (no API keys) on a non-loopback address', async () => {
    await expect(startServerProcess({ DATABASE_URL: ':memory:', HOST: '0.0.0.0' })).rejects.toThrow(/exited with 1 before listening/);
  });

  it('serves open on a non-loopback address when AUTH=none says so', async () => {
    const server = await startServerProcess({ DATABASE_URL: ':memory:', HOST: '0.0.0.0', AUTH: 'none' });
    expect(server.logs.map((entry) => entry.msg)).toContain('no API keys are configured: the server runs open, as one tenant');
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('stops with a message naming the variable when the configuration is bad', async () => {
    const logs: Record<string, unknown>[] = [];
    await expect(startServerProcess({ DATABASE_URL: ':memory:', PORT: 'eighty' }, logs)).rejects.toThrow(/exited with 1 before listening/);
    expect(logs).toContainEqual(expect.objectContaining({ level: 60, msg: 'PORT must be a number from 0 to 65535; got "eighty".' }));
  });
});
