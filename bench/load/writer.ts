/**
 * Load process: sends one request per task id at a fixed rate (open loop: a slow answer
 * does not delay the next request) over a pool of keep-alive connections, and records when
 * each was sent and answered.
 */
import { Agent, request } from 'node:http';
import { wallNow } from '../lib/clock.js';
import { paced } from '../lib/pacing.js';
import { serveCommands } from '../lib/protocol.js';
import { fill, updatedAtOf, type RequestTemplate } from '../lib/raw-http.js';

export interface WriteArgs {
  port: number;
  /** Placeholders: `@@id@@`, `@@i@@` (index), `@@sentAt@@` (wall ms when sent). */
  template: RequestTemplate;
  ids: string[];
  /** Requests per second; Infinity sends them all at once. */
  ratePerSecond: number;
  /** Give up on answers after this long, in ms. @default 60000 */
  timeoutMs?: number;
}

export interface WriteResults {
  /** Per id: when the request was handed to its socket (wall ms). */
  sentAt: number[];
  /** Per id: when the answer was complete (wall ms), NaN if none. */
  answeredAt: number[];
  /** Per id: `updatedAt` in the answer (epoch ms), NaN if none. */
  updatedAt: number[];
  /** Requests not answered by a 200 without GraphQL errors (including those never answered). */
  failed: number;
  /** The first few failures, for the log. */
  failures: string[];
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function send(port: number, template: RequestTemplate, values: Record<string, string>): Promise<{ status: number; body: string }> {
  const body = template.body === undefined ? undefined : fill(template.body, values);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, agent, method: template.method, path: fill(template.path, values), headers: template.headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run({ port, template, ids, ratePerSecond, timeoutMs = 60_000 }: WriteArgs): Promise<WriteResults> {
  const results: WriteResults = {
    sentAt: new Array<number>(ids.length).fill(NaN),
    answeredAt: new Array<number>(ids.length).fill(NaN),
    updatedAt: new Array<number>(ids.length).fill(NaN),
    failed: 0,
    failures: [],
  };
  const answers: Promise<void>[] = [];
  let ok = 0;
  const fire = (i: number) => {
    const sentAt = wallNow();
    results.sentAt[i] = sentAt;
    const values = { id: ids[i]!, i: String(i), sentAt: sentAt.toFixed(3) };
    answers.push(
      send(port, template, values).then(
        ({ status, body }) => {
          results.answeredAt[i] = wallNow();
          results.updatedAt[i] = updatedAtOf(body);
          if (status === 200 && !body.includes('"errors"')) ok++;
          else fail(`${status} ${body.slice(0, 300)}`);
        },
        (error: Error) => fail(error.message),
      ),
    );
  };
  const fail = (why: string) => {
    if (results.failures.length < 5) results.failures.push(why);
  };
  await paced(ids.length, ratePerSecond, fire);
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([Promise.all(answers), timeout]);
  results.failed = ids.length - ok;
  return results;
}

serveCommands({ run });
