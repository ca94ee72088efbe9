import { runWorker } from './client/worker.js';

export interface DemoOptions {
  /** The service's own GraphQL URL. */
  url: string;
  /** A worker or admin key, when the server has keys. */
  apiKey?: string;
  signal: AbortSignal;
  log: (message: string) => void;
  /** Seeds the worker's choices (step times, failures, results): the same seed, the same demo. */
  seed: number;
  /** Shortest step, in ms; each of the 8 steps takes 1 to 2 times it. */
  stepMs: number;
}

const DEMO_KIND = 'demo.report';
const NEW_TASK_EVERY_MS = 15_000;
/** Made-up tokens the demo worker streams per step. */
const TOKENS_PER_STEP = 6;
const WORDS = ['revenue', 'grew', 'in', 'the', 'north', 'region', 'while', 'costs', 'fell', 'steadily', 'across', 'every', 'quarter', 'report', 'shows', 'margin'];

/**
 * Demo mode: a few tasks to watch, a new one every 15 s, and a built-in worker (src/client/worker.ts, the
 * example worker's, over HTTP like any other) that takes each through progress over a few
 * seconds, writing a log line per step and a stream of made-up tokens (like a model writing
 * its answer) to the task's output, failing now and then so retries show too.
 */
export function startDemo({ url, apiKey, signal, log, seed, stepMs }: DemoOptions): Promise<void> {
  const random = mulberry32(seed);
  const create = (n: number) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({
        query: 'mutation($input: JSON) { createTask(kind: "demo.report", input: $input, maxAttempts: 3) { id } }',
        variables: { input: { report: `demo #${n}`, rows: 1_000 * n } },
      }),
    }).catch((error: unknown) => log(`demo: could not create a task: ${String(error)}`));

  let count = 0;
  for (; count < 3; count++) void create(count + 1);
  const timer = setInterval(() => void create(++count), NEW_TASK_EVERY_MS).unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });

  return runWorker({
    url,
    apiKey,
    kinds: [DEMO_KIND],
    workerId: 'demo-worker',
    leaseSeconds: 10,
    signal,
    log: (message) => log(`demo worker: ${message}`),
    async handle({ task, progress, output, signal: cancelled }) {
      const steps = 8;
      const failAt = random() < 0.25 ? 1 + Math.floor(random() * steps) : 0;
      await output(`attempt ${task.attempts}: writing the report\n`);
      for (let step = 1; step <= steps && !cancelled.aborted; step++) {
        // A step's time goes to its tokens, a few at a time, as a model would write them.
        const tokens = TOKENS_PER_STEP;
        const stepTime = stepMs * (1 + random());
        for (let n = 0; n < tokens && !cancelled.aborted; n++) {
          await new Promise((resolve) => setTimeout(resolve, stepTime / tokens));
          await output(`${WORDS[Math.floor(random() * WORDS.length)]}${n === tokens - 1 ? '.\n' : ' '}`, 'tokens');
        }
        if (step === failAt) throw new Error(`simulated failure at step ${step} (attempt ${task.attempts})`);
        await output(`step ${step} of ${steps} done\n`);
        await progress((step / steps) * 100, `step ${step} of ${steps}`);
      }
      return { url: `/reports/${task.id}.pdf`, pages: 2 + Math.floor(random() * 10) };
    },
  });
}

/** A small seeded generator of numbers in [0, 1) (mulberry32): enough for a demo or a load, not for secrets. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
