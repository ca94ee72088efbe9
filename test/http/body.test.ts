import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { BodyRefusedError, BodyTooLargeError, bodyForYoga, ClientGoneError } from '../../src/http/body.js';
import { useApp } from '../helpers/app.js';

const t = useApp({ MAX_BODY_BYTES: '1000' });

/** A chunked POST /graphql written in `chunks` (no Content-Length), with its status and body. */
function chunkedPost(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('request bodies', () => {
  it('a chunked body within MAX_BODY_BYTES is read whole', async () => {
    const payload = JSON.stringify({ query: '{ task(id: "x") { id } }', variables: { pad: 'p'.repeat(500) } });
    const answer = await chunkedPost(t.url, payload.match(/.{1,37}/gs)!);
    expect(answer).toEqual({ status: 200, body: '{"data":{"task":null}}' });
  });

  it('a chunked body past MAX_BODY_BYTES gets 413 BAD_USER_INPUT as soon as it passes, and the server goes on', async () => {
    const answer = await chunkedPost(t.url, ['{"query":"{ __typename }","pad":"', ...Array.from({ length: 50 }, () => 'p'.repeat(100)), '"}']);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});

describe('body errors', () => {
  it('are named after their classes, so a log line or a stack says which', () => {
    for (const [error, name] of [
      [new BodyTooLargeError(1000), 'BodyTooLargeError'],
      [new ClientGoneError(), 'ClientGoneError'],
      [new BodyRefusedError(400, 'BAD_REQUEST', 'no'), 'BodyRefusedError'],
    ] as const) {
      expect(error.name).toBe(name);
      expect(String(error)).toMatch(new RegExp(`^${name}: `));
    }
  });

  it('a body that is not UTF-8 is refused with the decoder\'s error as the cause', () => {
    let refused: unknown;
    try {
      bodyForYoga(Buffer.from([0x7b, 0xff, 0x7d]), 'application/json');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(BodyRefusedError);
    expect((refused as BodyRefusedError).cause).toBeInstanceOf(TypeError);
  });
});
