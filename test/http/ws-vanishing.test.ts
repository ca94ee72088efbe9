import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { expectNothingHeld, useApps } from '../helpers/app.js';
import { captureLog } from '../helpers/logs.js';

const apps = useApps();

describe('WebSocket clients that vanish while the server writes to them', () => {
  it('are clients gone, not server errors: nothing logged at error level, nothing held', async () => {
    const logged = captureLog();
    const t = await apps.start({}, { log: logged.log });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/vanishing-subscribers.ts', t.url, '6', '500'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect([code, output.trim()]).toEqual([0, 'done']);
    await expectNothingHeld(t.app);
    expect(logged.lines.filter((line) => line.level >= 50).map((line) => `${line.msg}: ${line.err?.message}`)).toEqual([]);
  }, 90_000);
});
