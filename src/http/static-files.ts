import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/** A file held in memory, ready to send: its bytes, gzipped if that pays, and a strong ETag. */
export interface StaticFile {
  body: Buffer;
  gzipped: Buffer | undefined;
  /** Of the bytes as they are; the gzipped bytes are another representation, with an ETag of their own. */
  etag: string;
  contentType: string;
  cacheControl: string;
}

/** Below this, gzip's header costs more than it saves. */
const GZIP_MIN_BYTES = 1_024;

const gzipAsync = promisify(gzip);

/** Reads nothing: wraps bytes already in memory (gzipped off the event loop). */
export async function staticFile(body: Buffer, contentType: string, cacheControl = 'no-cache'): Promise<StaticFile> {
  const compressible = body.length >= GZIP_MIN_BYTES && /^(text\/|application\/(javascript|json)|image\/svg)/.test(contentType);
  const gzipped = compressible ? await gzipAsync(body) : undefined;
  return {
    body,
    gzipped: gzipped && gzipped.length < body.length ? gzipped : undefined,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    contentType,
    cacheControl,
  };
}

/**
 * Sends `file`: 304 to a client that names its ETag, gzipped to one that accepts gzip, and
 * headers only for HEAD (Node leaves the body out). Nothing here touches the disk, so a file
 * removed since it was read cannot fail the request.
 */
export function sendStaticFile(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  const compressed = file.gzipped !== undefined && acceptsGzip(req.headers['accept-encoding']);
  const etag = compressed ? `${file.etag.slice(0, -1)}-gzip"` : file.etag;
  const headers: Record<string, string | number> = { etag, 'cache-control': file.cacheControl };
  if (file.gzipped) headers.vary = 'accept-encoding';
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const body = compressed ? file.gzipped! : file.body;
  res.writeHead(200, { ...headers, 'content-type': file.contentType, 'content-length': body.length, ...(compressed ? { 'content-encoding': 'gzip' } : {}) });
  res.end(body);
}

/** If-None-Match names this ETag (compared weakly, as RFC 9110 asks: a proxy may have made it `W/`), or is `*`. */
function matches(header: string | undefined, etag: string): boolean {
  return (header ?? '').split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === etag;
  });
}

/** `gzip` listed in Accept-Encoding, and not with `q=0`. */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(/\s*;\s*/);
    return (coding === 'gzip' || coding === '*') && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}
