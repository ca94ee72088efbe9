/**
 * Property: whatever writes hit the tasks of two tenants, some of them fired together, a feed
 * subscriber (or long-poller) that reads at its own pace, disconnects and resumes from any
 * cursor it was given, ends with exactly the latest state of every task of its tenant that its
 * filter matches, and nothing else; along each connection the positions strictly increase.
 */
import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import { DomainError } from '../src/tasks/errors.js';
import type { Principal } from '../src/tasks/principal.js';
import type { FeedChange, FeedFilter, FeedStream } from '../src/tasks/service.js';
import { reportProgress, type Task } from '../src/tasks/task.js';
import { createEngineTestService, describeEngines, type EngineTestService } from './helpers/service.js';

const TENANTS = ['a', 'b'] as const;
const KINDS = ['x', 'y'] as const;
const TAGS = ['red', 'blue'] as const;
const principal = (tenant: string): Principal => ({ tenant, role: 'worker' });

type Write =
  | { type: 'create'; tenant: number; kind: number; tags: number[] }
  | { type: 'claim'; tenant: number }
  | { type: 'progress'; task: number; progress: number }
  | { type: 'complete'; task: number }
  | { type: 'retry'; task: number }
  | { type: 'cancel'; task: number }
  /** A change no event announces (another instance's, its notice lost): only a later event or a resync tells of it. */
  | { type: 'unannounced'; task: number; progress: number };

type Step =
  | { type: 'write'; write: Write }
  | { type: 'together'; writes: Write[] }
  | { type: 'read'; subscriber: number; count: number }
  | { type: 'resume'; subscriber: number; from: number };

const write: fc.Arbitrary<Write> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('create' as const), tenant: fc.nat(1), kind: fc.nat(1), tags: fc.subarray([0, 1]) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('claim' as const), tenant: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('progress' as const), task: fc.nat(7), progress: fc.nat(100) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('complete' as const), task: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('retry' as const), task: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('cancel' as const), task: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('unannounced' as const), task: fc.nat(7), progress: fc.nat(100) }) },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: write.map((w) => ({ type: 'write' as const, write: w })) },
  { weight: 2, arbitrary: fc.array(write, { minLength: 2, maxLength: 4 }).map((writes) => ({ type: 'together' as const, writes })) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('read' as const), subscriber: fc.nat(5), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('resume' as const), subscriber: fc.nat(5), from: fc.nat() }) },
);

/**
 * Four subscribers: two per tenant, one unfiltered and one filtered by kind or tag (properties a
 * task never changes); and two long-pollers (`awaitChanges`, two changes a page at most).
 */
const SUBSCRIBERS: { tenant: string; filter: FeedFilter | null; polls?: true }[] = [
  { tenant: 'a', filter: null },
  { tenant: 'a', filter: { kinds: ['x'] } },
  { tenant: 'b', filter: null },
  { tenant: 'b', filter: { tags: ['red'] } },
  { tenant: 'a', filter: { kinds: ['y'] }, polls: true },
  { tenant: 'b', filter: null, polls: true },
];
const POLL_PAGE = 2;

const matches = (filter: FeedFilter | null, task: Task) =>
  (!filter?.kinds || filter.kinds.includes(task.kind)) && (!filter?.tags || task.tags.some((tag) => filter.tags!.includes(tag)));

interface Subscriber {
  tenant: string;
  filter: FeedFilter | null;
  /** A subscription; or null for a long-poller, which asks from `cursors.at(-1)`. */
  stream: FeedStream | null;
  /** Ends the long-poll held for a poller. */
  abort: AbortController;
  /** The next() asked for and not yet settled. */
  pending: Promise<void> | null;
  /** The latest state received of each task. */
  seen: Map<string, Task>;
  /** Every cursor received, in order (a resume picks one). */
  cursors: string[];
  /** The last position received on the current connection. */
  last: number;
  problems: string[];
  /** Being closed by the test: its stream's end is expected. */
  closing: boolean;
}

let ctx: EngineTestService | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

describeEngines('feed property', (engine) => {
  it('every subscriber ends with exactly the latest state of every matching task of its tenant', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        ctx = await createEngineTestService(engine);
        const { tasks, store } = ctx;
        const created: Task[] = [];
        const start = await tasks.changes(principal('a'), { first: 0 });
        const subscribers: Subscriber[] = [];
        try {
          const follow = (tenant: string, filter: FeedFilter | null, polls: boolean | undefined, from: string) =>
            polls ? null : tasks.followChanges(principal(tenant), { filter, after: from });
          for (const { tenant, filter, polls } of SUBSCRIBERS) {
            // From the beginning of the feed: every task of the tenant is to be delivered.
            const from = (await tasks.changes(principal(tenant), { first: 0 })).cursor;
            const stream = await follow(tenant, filter, polls, from);
            subscribers.push({ tenant, filter, stream, abort: new AbortController(), pending: null, seen: new Map(), cursors: [from], last: 0, problems: [], closing: false });
          }
          expect(start.changes).toEqual([]);

          const pull = (subscriber: Subscriber) => {
            const { stream, tenant, filter, abort } = subscriber;
            subscriber.pending ??= stream
              ? stream.next().then((next) => {
                  subscriber.pending = null;
                  if (next.done) {
                    if (!subscriber.closing) subscriber.problems.push('the stream ended');
                    return;
                  }
                  received(subscriber, next.value);
                })
              : tasks.awaitChanges(principal(tenant), { filter, after: subscriber.cursors.at(-1)!, timeoutSeconds: 60, first: POLL_PAGE, signal: abort.signal }).then(({ page }) => {
                  subscriber.pending = null;
                  if (abort.signal.aborted) return;
                  if (page.changes.length > POLL_PAGE) subscriber.problems.push(`a page of ${page.changes.length}`);
                  for (const change of page.changes) received(subscriber, change);
                  if (page.changes.length === 0) subscriber.problems.push('a held long-poll ended with nothing');
                  subscriber.cursors.push(page.cursor);
                });
            return subscriber.pending;
          };
          const received = (subscriber: Subscriber, { cursor, task }: FeedChange) => {
            if (task.tenant !== subscriber.tenant) subscriber.problems.push(`another tenant's task ${task.id}`);
            if (!matches(subscriber.filter, task)) subscriber.problems.push(`a task its filter does not match: ${task.id}`);
            if (task.feedPos <= subscriber.last) subscriber.problems.push(`position ${task.feedPos} after ${subscriber.last}`);
            const before = subscriber.seen.get(task.id);
            if (before && before.revision > task.revision) subscriber.problems.push(`${task.id} went back from ${before.revision} to ${task.revision}`);
            subscriber.last = task.feedPos;
            subscriber.seen.set(task.id, task);
            // A poller goes on from its page's cursor.
            if (subscriber.stream) subscriber.cursors.push(cursor);
          };

          const run = async (w: Write) => {
            try {
              if (w.type === 'create') {
                created.push(await tasks.create(principal(TENANTS[w.tenant]!), { kind: KINDS[w.kind]!, tags: w.tags.map((i) => TAGS[i]!), maxAttempts: 2 }));
                return;
              }
              if (w.type === 'claim') {
                await tasks.claim(principal(TENANTS[w.tenant]!), { workerId: 'w', leaseSeconds: 60 });
                return;
              }
              const task = created[w.task % Math.max(created.length, 1)];
              if (!task) return;
              const who = principal(task.tenant);
              if (w.type === 'unannounced') await store.update(task.id, (current) => reportProgress(current!, w.progress, null, null, new Date()));
              else if (w.type === 'progress') await tasks.reportProgress(who, { id: task.id, progress: w.progress });
              else if (w.type === 'complete') await tasks.complete(who, { id: task.id, result: w.task });
              else if (w.type === 'retry') await tasks.fail(who, { id: task.id, message: 'again', retry: true });
              else await tasks.cancel(who, { id: task.id });
            } catch (error) {
              if (!(error instanceof DomainError) || !['INVALID_TRANSITION', 'NOT_FOUND'].includes(error.code)) throw error;
            }
          };

          for (const s of steps) {
            if (s.type === 'write') await run(s.write);
            else if (s.type === 'together') await Promise.all(s.writes.map(run));
            else if (s.type === 'read') {
              const subscriber = subscribers[s.subscriber]!;
              // Reads what is there: a pull that is still waiting stays pending for the next step.
              for (let i = 0; i < s.count; i++) {
                const settled = await Promise.race([pull(subscriber).then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
                if (!settled) break;
              }
            } else {
              const subscriber = subscribers[s.subscriber]!;
              const { stream, pending, abort } = subscriber;
              subscriber.closing = true;
              await stream?.return!();
              abort.abort();
              await pending;
              subscriber.closing = false;
              subscriber.abort = new AbortController();
              const from = subscriber.cursors[s.from % subscriber.cursors.length]!;
              subscriber.cursors.push(from);
              subscriber.stream = await follow(subscriber.tenant, subscriber.filter, !stream, from);
              subscriber.last = 0;
            }
          }

          // What the cross-instance resync does: tell each feed where its tenant has come.
          for (const tenant of TENANTS) ctx.events.announceFeed(tenant, await store.feedPosition(tenant));
          for (const subscriber of subscribers) {
            const expected = new Map(
              (await Promise.all(created.map((task) => store.get(task.id))))
                .filter((task): task is Task => task !== null && task.tenant === subscriber.tenant && matches(subscriber.filter, task))
                .map((task) => [task.id, task]),
            );
            const caughtUp = () => subscriber.seen.size === expected.size && [...expected].every(([id, task]) => subscriber.seen.get(id)?.revision === task.revision);
            while (!caughtUp() && subscriber.problems.length === 0) {
              const timedOut = await Promise.race([pull(subscriber).then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5_000).unref())]);
              if (timedOut) {
                subscriber.problems.push(`stuck with ${subscriber.seen.size} of ${expected.size} tasks`);
                break;
              }
            }
            expect(subscriber.problems).toEqual([]);
            expect([...subscriber.seen.keys()].sort()).toEqual([...expected.keys()].sort());
            for (const [id, task] of expected) expect(subscriber.seen.get(id)).toEqual(task);
          }
        } finally {
          for (const subscriber of subscribers) {
            subscriber.closing = true;
            await subscriber.stream?.return!();
            subscriber.abort.abort();
            await subscriber.pending;
          }
          await ctx.close();
          ctx = undefined;
        }
      }),
      { numRuns: engine === 'postgres' ? 15 : 60 },
    );
  });
});
