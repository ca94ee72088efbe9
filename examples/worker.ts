/**
 * The worker's command line (the worker itself is src/client/worker.ts): claim a task, keep
 * its lease alive with heartbeats, report progress, stream log lines to the task's output,
 * complete it or fail it (with retry), and stop gracefully on SIGINT/SIGTERM (the task in hand
 * is finished first).
 *
 *   TASK_API_URL=http://127.0.0.1:4000/graphql KINDS=report.generate npx tsx examples/worker.ts
 *
 * Env: TASK_API_URL (default http://127.0.0.1:4000/graphql), API_KEY (a worker key, when the
 * server has keys), KINDS (comma-separated; default any), WORKER_ID (default host-pid).
 */
import { hostname } from 'node:os';
import { runWorker } from '../src/client/worker.js';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
await runWorker({
  url: process.env.TASK_API_URL ?? 'http://127.0.0.1:4000/graphql',
  apiKey: process.env.API_KEY,
  kinds: process.env.KINDS?.split(',').filter(Boolean),
  workerId: process.env.WORKER_ID ?? `${hostname()}-${process.pid}`,
  signal: stop.signal,
  log: (message) => console.log(message),
  // Replace with the real work: here, ten steps of 200 ms.
  async handle({ task, progress, output, signal }) {
    await output(`started ${task.kind} ${task.id}, attempt ${task.attempts}\n`);
    for (let step = 1; step <= 10 && !signal.aborted; step++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await output(`step ${step} of 10 done\n`);
      await progress(step * 10, `step ${step} of 10`);
    }
    return { echoed: task.input };
  },
});
console.log('worker stopped');
