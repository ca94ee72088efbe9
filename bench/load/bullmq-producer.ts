/**
 * Load process: BullMQ's side of the progress comparison. Adds jobs, then calls
 * `job.updateProgress({ sentAt })` on them in turn at a fixed rate.
 */
import { Queue, type Job } from 'bullmq';
import { wallNow } from '../lib/clock.js';
import { paced } from '../lib/pacing.js';
import { serveCommands } from '../lib/protocol.js';

let queue: Queue | null = null;
let jobs: Job[] = [];

async function setup({ port, name, jobCount }: { port: number; name: string; jobCount: number }): Promise<void> {
  queue = new Queue(name, { connection: { host: '127.0.0.1', port } });
  jobs = await Promise.all(Array.from({ length: jobCount }, (_, i) => queue!.add('bench', { i })));
}

/** Sends `events` progress updates round-robin over the jobs; resolves once Redis acknowledged them all. */
async function run({ events, ratePerSecond }: { events: number; ratePerSecond: number }): Promise<{ failed: number }> {
  const updates: Promise<unknown>[] = [];
  let failed = 0;
  await paced(events, ratePerSecond, (i) => {
    updates.push(jobs[i % jobs.length]!.updateProgress({ sentAt: wallNow() }).catch(() => failed++));
  });
  await Promise.all(updates);
  return { failed };
}

async function close(): Promise<void> {
  await queue?.close();
}

serveCommands({ setup, run, close });
