import type { IncomingMessage } from 'node:http';
import { MAX_JSON_DEPTH } from '../tasks/json-depth.js';

/** A body past `maxBytes`: answered 413, and the connection closed (the rest of the body flows by unread). */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';

  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
  }
}

/** The client closed its connection (or half-closed it) before its body was read: there is no one to answer. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';

  constructor(cause?: Error) {
    super('The client closed the request before its body was complete.', { cause });
  }
}

/**
 * Reads a request body up to `maxBytes`, refusing at once when Content-Length already says
 * more, and as soon as a chunked body passes the limit. Listens for `data` rather than
 * iterating the stream with `for await`, which costs measurably more per request.
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
    // Node aborts the request ("aborted", ECONNRESET) when its connection closes or half-closes.
    const onError = (error?: Error) => {
      stop();
      reject(new ClientGoneError(error));
    };
    const onClose = () => onError();
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

/** A body refused before GraphQL reads it: answered with `status` and a GraphQL error carrying `code`. */
export class BodyRefusedError extends Error {
  override readonly name = 'BodyRefusedError';

  constructor(
    readonly status: number,
    readonly code: 'BAD_REQUEST' | 'BAD_USER_INPUT',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The media types Yoga reads a POST body of as text (its JSON, GraphQL, form and multipart parsers). */
const TEXT_MEDIA_TYPES = new Set(['application/json', 'application/graphql+json', 'application/graphql', 'application/x-www-form-urlencoded', 'multipart/form-data']);
const JSON_MEDIA_TYPES = new Set(['application/json', 'application/graphql+json']);

/**
 * How deep a JSON body may nest: the request's own object, then its `variables` or `extensions`
 * object, then values at most `MAX_JSON_DEPTH` deep.
 */
const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 2;

/** The refusal of variables or extensions nested deeper than `MAX_JSON_DEPTH`, over HTTP and WebSocket alike (BAD_USER_INPUT). */
export const TOO_DEEP_MESSAGE = `Variables and extensions may nest at most ${MAX_JSON_DEPTH} levels.`;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What to hand Yoga as `req.body`: a JSON body already parsed (Yoga then skips its streamed
 * body handling), anything else as the bytes read. An empty object is passed as bytes, since
 * Yoga takes an empty parsed body for "not read yet".
 *
 * Refuses, with a BodyRefusedError, a body Yoga would read as text that is not UTF-8 (read
 * leniently, its bad bytes would turn into U+FFFD and be stored), a form whose
 * percent-escapes are not UTF-8 (the same), with 400 BAD_REQUEST (as Yoga answers malformed
 * JSON); and a JSON body nested deeper than `MAX_BODY_DEPTH`, measured on the bytes before
 * anything parses them, with 400 BAD_USER_INPUT. The schema takes no file uploads, so a
 * multipart body has no binary part to carry either.
 */
export function bodyForYoga(body: Buffer, contentType: string | undefined): unknown {
  const mediaType = mediaTypeOf(contentType);
  if (!TEXT_MEDIA_TYPES.has(mediaType)) return body;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (error) {
    throw new BodyRefusedError(400, 'BAD_REQUEST', 'The request body is not valid UTF-8.', { cause: error });
  }
  if (mediaType === 'application/x-www-form-urlencoded' && !percentEscapesAreUtf8(text)) {
    throw new BodyRefusedError(400, 'BAD_REQUEST', 'The form body has percent-escapes that are not UTF-8.');
  }
  if (!JSON_MEDIA_TYPES.has(mediaType)) return body;
  if (nestingExceeds(body, MAX_BODY_DEPTH)) {
    throw new BodyRefusedError(400, 'BAD_USER_INPUT', TOO_DEEP_MESSAGE);
  }
  if (mediaType === 'application/json' && body.length > 2) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Yoga answers malformed JSON with its own 400
    }
  }
  return body;
}

/**
 * The media type as Yoga's parsers match it: the first of a list, its parameters dropped,
 * nothing trimmed or lower-cased (what Yoga would not match is refused with 415 anyway).
 */
function mediaTypeOf(contentType: string | undefined): string {
  return contentType?.split(',')[0]?.split(';')[0] ?? '';
}

/** True when the JSON text's arrays and objects nest deeper than `maxDepth`; a scan of the bytes, no parse. */
function nestingExceeds(json: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Every run of percent-escapes decodes to UTF-8. A run is checked alone: the text around it is
 * already UTF-8, so no character can start in a run and end outside it.
 */
function percentEscapesAreUtf8(form: string): boolean {
  for (const [run] of form.matchAll(/(?:%[0-9a-fA-F]{2})+/g)) {
    try {
      utf8.decode(Buffer.from(run.replaceAll('%', ''), 'hex'));
    } catch {
      return false;
    }
  }
  return true;
}
