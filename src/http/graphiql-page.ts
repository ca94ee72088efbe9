import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

interface Page {
  html: Buffer;
  gzipped: Buffer;
  etag: string;
}

/**
 * GraphiQL's page (about 9 MB of inline script, the same for every visit), rendered and
 * gzipped once, on first use, and kept: sent gzipped (about a quarter of the size) to clients
 * that accept it, with an ETag, so that a browser that has it revalidates (`no-cache`) and gets
 * a 304 instead of the page again. Yoga would render it anew, uncompressed, on every request.
 */
export function createGraphiQLPage(render: () => string) {
  let page: Promise<Page> | undefined;
  const build = async (): Promise<Page> => {
    const html = Buffer.from(render(), 'utf8');
    const gzipped = await promisify(gzip)(html);
    return { html, gzipped, etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"` };
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    page ??= build().catch((error: unknown) => {
      page = undefined;
      throw error;
    });
    const { html, gzipped, etag } = await page;
    if (res.destroyed) return;
    const headers: Record<string, string | number> = { etag, 'cache-control': 'no-cache', vary: 'accept-encoding' };
    if (req.headers['if-none-match']?.split(/\s*,\s*/).includes(etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const compressed = acceptsGzip(req.headers['accept-encoding']);
    const body = compressed ? gzipped : html;
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, ...(compressed ? { 'content-encoding': 'gzip' } : {}) });
    res.end(body);
  };
}

/** `gzip` listed in Accept-Encoding, and not with `q=0`. */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(/\s*;\s*/);
    return (coding === 'gzip' || coding === '*') && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}
