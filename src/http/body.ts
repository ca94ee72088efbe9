import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
  }
}

/**
 * Reads a request body up to `maxBytes`, refusing at once when Content-Length already says
 * more, and as soon as a chunked body passes the limit.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw new BodyTooLargeError(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * What to hand Yoga as `req.body`: a JSON body already parsed (Yoga then skips its streamed
 * body handling), anything else as the bytes read. An empty object is passed as bytes, since
 * Yoga takes an empty parsed body for "not read yet".
 */
export function bodyForYoga(body: Buffer, contentType: string | undefined): unknown {
  if (contentType?.startsWith('application/json') && body.length > 2) {
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      // Yoga answers malformed JSON with its own 400
    }
  }
  return body;
}
