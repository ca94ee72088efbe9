/**
 * The client's SSE reader against servers that misbehave, on a real socket: a plain node:http
 * server on port 0 stands in for one (the real server cannot be made to misbehave this way).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SSE_EVENT_CHARS, overSse } from '../../src/client/transport.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that answers every request with an event stream written by `write`; its URL, and when each response closed. */
async function eventStreamServer(write: (response: ServerResponse) => void) {
  const closed: Promise<void>[] = [];
  server = createServer((_request, response) => {
    closed.push(new Promise((resolve) => response.once('close', resolve)));
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    write(response);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, closed };
}

/** Writes `data: xxx…` for as long as the client reads, never a blank line. */
function endlessEvent(response: ServerResponse): void {
  const chunk = 'x'.repeat(64 * 1024);
  const pump = () => {
    while (!response.destroyed && response.write(chunk));
  };
  response.write('data: ');
  response.on('drain', pump);
  pump();
}

describe('overSse', () => {
  it('refuses an event that never ends past MAX_SSE_EVENT_CHARS, with a clear error, and lets the response go', async () => {
    const { url, closed } = await eventStreamServer(endlessEvent);
    const results = overSse({ url }, 'subscription { x }', {});
    await expect(results.next()).rejects.toThrow(`An event of the SSE stream grew past ${MAX_SSE_EVENT_CHARS} characters without ending`);
    await closed[0];
  });

  it('still takes events of any size below the bound, split across many reads', async () => {
    const big = 'y'.repeat(4 * 1024 * 1024);
    const { url } = await eventStreamServer((response) => {
      response.write(`event: next\ndata: ${JSON.stringify({ data: { big } })}\n\n`);
      response.end('event: complete\ndata:\n\n');
    });
    const got = [];
    for await (const result of overSse({ url }, 'subscription { x }', {})) got.push(result);
    expect(got).toEqual([{ data: { big } }]);
  });
});
