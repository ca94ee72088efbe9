import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

/** Where `npm run build:web` writes the dashboard. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/**
 * Serves the built dashboard (a single-page app: unknown paths get index.html); hashed
 * assets are cached for good. Source maps are never served (the build makes none; an old or
 * hand-made build might hold some): a `.map` path is 404. Without a build it says how to make one.
 */
export function createDashboardHandler(dir = DASHBOARD_DIR) {
  if (!existsSync(join(dir, 'index.html'))) {
    return (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The dashboard is not built: run `npm run build:web` (npm start does it).\n');
    };
  }
  const serve = sirv(dir, {
    single: true,
    etag: true,
    setHeaders: (res, pathname) => {
      if (pathname.startsWith('/assets/')) res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    },
  });
  return (req: IncomingMessage, res: ServerResponse) => {
    if (isSourceMap(new URL(req.url ?? '/', 'http://localhost').pathname)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('Not found.\n');
    }
    serve(req, res);
  };
}

/** A path sirv would serve a `.map` file for (it decodes the path first). */
function isSourceMap(pathname: string): boolean {
  try {
    return decodeURIComponent(pathname).toLowerCase().endsWith('.map');
  } catch {
    return pathname.toLowerCase().endsWith('.map');
  }
}
