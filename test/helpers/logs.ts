import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createLogger } from '../../src/log.js';

/** pino's number for `error`: a line at this level or above is an error. */
const ERROR_LEVEL = 50;

/**
 * The app's own logger (src/log.ts, with its redaction) writing into memory: pass `log` to
 * `startApp`, then read the JSON lines it wrote (`errors()`: those at `error` level and above).
 * `redact: false` gives a plain pino logger, for tests that a secret is never handed to the
 * logger at all.
 */
export function captureLog(
  level = 'info',
  { redact = true }: { redact?: boolean } = {},
): { log: Logger; lines: Record<string, any>[]; errors: () => Record<string, any>[]; text: () => string } {
  const lines: Record<string, any>[] = [];
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return {
    log: redact ? createLogger(level, stream) : pino({ level }, stream),
    lines,
    errors: () => lines.filter((line) => line.level >= ERROR_LEVEL),
    text: () => text,
  };
}
