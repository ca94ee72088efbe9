/**
 * An HTTP request with placeholders (`@@id@@`, `@@i@@`, `@@sentAt@@`) that load processes
 * fill in per request.
 */
export interface RequestTemplate {
  method: 'GET' | 'POST';
  /** Path and query string. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Replaces every `@@name@@` in `text` with `values[name]`. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/@@(\w+)@@/g, (whole, name: string) => values[name] ?? whole);
}

/** The template filled in, as a complete HTTP/1.1 request (keep-alive, with Content-Length). */
export function renderRequest(template: RequestTemplate, values: Record<string, string>): string {
  const body = template.body === undefined ? '' : fill(template.body, values);
  const headers = { host: '127.0.0.1', ...template.headers, 'content-length': String(Buffer.byteLength(body)) };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `${template.method} ${fill(template.path, values)} HTTP/1.1\r\n${head}\r\n${body}`;
}

export interface ParsedResponse {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Parses one HTTP/1.1 response (Content-Length or chunked) from `data`; null until it is complete. */
export function parseResponse(data: Buffer): ParsedResponse | null {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd < 0) return null;
  const head = data.subarray(0, headerEnd).toString('latin1');
  const status = Number(head.slice(9, 12));
  const rest = data.subarray(headerEnd + 4);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const size = Number(length[1]);
    return rest.length >= size ? { status, body: rest.subarray(0, size).toString('utf8') } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return parseChunked(status, rest);
  return null;
}

function parseChunked(status: number, data: Buffer): ParsedResponse | null {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (size === 0) return { status, body: Buffer.concat(parts).toString('utf8') };
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return null;
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** `updatedAt` (epoch ms) from a JSON body holding one task, wherever the task is nested; NaN if absent. */
export function updatedAtOf(body: string): number {
  const match = /"updatedAt":"([^"]+)"/.exec(body);
  return match ? Date.parse(match[1]!) : NaN;
}

/** True when a JSON body holding one task says `"done":true`. */
export const isDone = (body: string): boolean => body.includes('"done":true');
