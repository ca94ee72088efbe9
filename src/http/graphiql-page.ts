import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendStaticFile, staticFile, type StaticFile } from './static-files.js';

/**
 * GraphiQL's page (about 9 MB of inline script, the same for every visit), rendered and
 * gzipped once, on first use, and kept: sent gzipped (about a quarter of the size) to clients
 * that accept it, with an ETag, so that a browser that has it revalidates (`no-cache`) and gets
 * a 304 instead of the page again. Yoga would render it anew, uncompressed, on every request.
 */
export function createGraphiQLPage(render: () => string) {
  let page: Promise<StaticFile> | undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    page ??= staticFile(Buffer.from(render(), 'utf8'), 'text/html; charset=utf-8').catch((error: unknown) => {
      page = undefined;
      throw error;
    });
    const file = await page;
    if (!res.destroyed) sendStaticFile(req, res, file);
  };
}
