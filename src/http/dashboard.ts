import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendStaticFile, staticFile, type StaticFile } from './static-files.js';

/** Where `npm run build:web` writes the dashboard. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves the built dashboard, a single-page app, from memory: every file is read once, at
 * start, so a rebuild or a deletion of the folder while the service runs (a second `npm start`
 * rebuilds it) changes nothing for this process. Hashed assets are cached for good, the page
 * revalidates; a path that names no file gets the page, unless it has an extension (a missing
 * asset is a 404, not HTML). Source maps are never read nor served. Without a build it says how
 * to make one.
 */
export async function createDashboardHandler(dir = DASHBOARD_DIR) {
  const files = await readBuild(dir);
  const page = files.get('/index.html');
  if (!page) {
    return (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The dashboard is not built: run `npm run build:web` (npm start does it).\n');
    };
  }
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = decodedPath(req.url ?? '/');
    const file = path === undefined ? undefined : path === '/' ? page : (files.get(path) ?? (extname(path) === '' ? page : undefined));
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('Not found.\n');
    }
    sendStaticFile(req, res, file);
  };
}

/** Every file of the build but source maps, by URL path; empty if there is no build. */
async function readBuild(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return files;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.toLowerCase().endsWith('.map')) continue;
    const absolute = join(entry.parentPath, entry.name);
    const path = `/${relative(dir, absolute).split(sep).join('/')}`;
    const cacheControl = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    const type = CONTENT_TYPES[extname(entry.name).toLowerCase()] ?? 'application/octet-stream';
    files.set(path, await staticFile(await readFile(absolute), type, cacheControl));
  }
  return files;
}

/** The request's path, percent-decoded; undefined if it cannot be decoded. */
function decodedPath(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return undefined;
  }
}

export type DashboardHandler = Awaited<ReturnType<typeof createDashboardHandler>>;
