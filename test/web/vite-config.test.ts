import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import viteConfig from '../../web/vite.config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('web/vite.config.ts', () => {
  it('builds web/ into web/dist (what src/http/dashboard.ts serves), emptying it first', () => {
    expect(typeof viteConfig).toBe('object');
    const config = viteConfig as { root?: string; build?: { outDir?: string; emptyOutDir?: boolean }; base?: string };
    expect(resolve(config.root!)).toBe(resolve(ROOT, 'web'));
    expect(resolve(config.root!, config.build!.outDir!)).toBe(resolve(ROOT, 'web/dist'));
    expect(config.build!.emptyOutDir).toBe(true);
    expect(config.base).toBe('/');
  });

  it('emits no source maps (the server would not serve them either: src/http/dashboard.ts)', () => {
    expect((viteConfig as { build?: { sourcemap?: unknown } }).build!.sourcemap).toBe(false);
  });
});
