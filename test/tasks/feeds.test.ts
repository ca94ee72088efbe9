/**
 * Change feeds in the service, on both engines: `changes`, `awaitChanges` and `followChanges`
 * against every rule of the contract's feeds section.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { FEED_STREAM_QUEUE } from '../../src/tasks/feeds.js';
import type { FeedChange, FeedStream } from '../../src/tasks/service.js';
import type { Principal } from '../../src/tasks/principal.js';
import type { TaskStore } from '../../src/tasks/store.js';
import { cancel, claim, type TaskStatus } from '../../src/tasks/task.js';
import { createEngineTestService, describeEngines, refusalCode, until, untilHeld, type EngineTestService, type ServiceOptions } from '../helpers/service.js';

const alice: Principal = { tenant: 'alice', role: 'worker' };
const bob: Principal = { tenant: 'bob', role: 'worker' };
const aliceAdmin: Principal = { tenant: 'alice', role: 'admin' };

let ctx: EngineTestService | undefined;

afterEach(async () => {
  vi.useRealTimers();
  if (ctx) {
    ctx.tasks.close();
    expect(ctx.events.listenerCount()).toBe(0);
    expect(ctx.tasks.stats()).toEqual({ waiters: 0, subscriptions: 0 });
    await ctx.close();
  }
  ctx = undefined;
});

/** Each change as `id@status`. */
const shown = (changes: FeedChange[]) => changes.map(({ task }) => `${task.id}@${task.status}`);

/** The next `n` changes of a stream. */
async function take(stream: FeedStream, n: number): Promise<FeedChange[]> {
  const changes: FeedChange[] = [];
  while (changes.length < n) {
    const next = await stream.next();
    if (next.done) throw new Error('the stream ended');
    changes.push(next.value);
  }
  return changes;
}

/** Counts the store's feed reads. */
function countReads(store: TaskStore): { reads: number } {
  const counter = { reads: 0 };
  const changesOfKinds = store.changesOfKinds.bind(store);
  store.changesOfKinds = (...args) => {
    counter.reads++;
    return changesOfKinds(...args);
  };
  return counter;
}

describeEngines('change feeds', (engine) => {
  const start = async (options: ServiceOptions = {}) => (ctx = await createEngineTestService(engine, options));

  it('a page holds the tenant\'s tasks changed after the cursor, each once at its latest state, in position order; paged by cursor', async () => {
    const { tasks } = await start();
    const one = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const two = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    await tasks.create(bob, { kind: 'k', maxAttempts: 1 });
    await tasks.claim(alice, { workerId: 'w', leaseSeconds: 60 });
    await tasks.reportProgress(alice, { id: one.id, progress: 10 });
    await tasks.complete(alice, { id: one.id, result: 1 });
    const three = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });

    const all = await tasks.changes(alice, { first: 100 });
    expect(shown(all.changes)).toEqual([`${two.id}@QUEUED`, `${one.id}@COMPLETED`, `${three.id}@QUEUED`]);
    expect(all.cursor).toBe(all.changes.at(-1)!.cursor);

    const first = await tasks.changes(alice, { first: 2 });
    expect(shown(first.changes)).toEqual(shown(all.changes.slice(0, 2)));
    expect(first.cursor).toBe(first.changes[1]!.cursor);
    const rest = await tasks.changes(alice, { first: 2, after: first.cursor });
    expect(shown(rest.changes)).toEqual([`${three.id}@QUEUED`]);
    const end = await tasks.changes(alice, { first: 2, after: rest.cursor });
    expect(end).toEqual({ changes: [], cursor: rest.cursor });

    // The admin of a tenant reads that tenant's feed, with the same cursors.
    expect(await tasks.changes(aliceAdmin, { first: 2, after: first.cursor })).toEqual(rest);
    expect(shown((await tasks.changes(bob, { first: 100 })).changes)).toHaveLength(1);
  });

  it('a malformed cursor, another tenant\'s, or a tasks listing cursor is BAD_USER_INPUT; so is a page over 1000', async () => {
    const { tasks } = await start();
    await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const { cursor } = await tasks.changes(alice, { first: 10 });
    const listCursor = (await tasks.list(alice, { first: 1 })).cursorOf((await tasks.list(alice, { first: 1 })).tasks[0]!);
    for (const after of ['nope', '', cursor.slice(1), listCursor]) {
      expect(await refusalCode(tasks.changes(alice, { first: 10, after })), after).toBe('BAD_USER_INPUT');
    }
    expect(await refusalCode(tasks.changes(bob, { first: 10, after: cursor }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(tasks.awaitChanges(bob, { after: cursor, first: 10, timeoutSeconds: 0 }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(tasks.followChanges(bob, { after: cursor }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(tasks.changes(alice, { first: 1001 }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(tasks.changes(alice, { first: 1000 }))).toBe('ok');
    expect(await refusalCode(tasks.changes(alice, { first: 1, filter: { tags: ['no spaces'] } }))).toBe('BAD_USER_INPUT');
    // A filter's other bounds: at most 100 tags, and statuses that are task statuses (GraphQL's enum refuses others first; the domain checks its own input).
    const tooMany = Array.from({ length: 101 }, (_, n) => `t${n}`);
    expect(await refusalCode(tasks.changes(alice, { first: 1, filter: { tags: tooMany } }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(tasks.changes(alice, { first: 1, filter: { tags: tooMany.slice(1) } }))).toBe('ok');
    expect(await refusalCode(tasks.changes(alice, { first: 1, filter: { statuses: ['DONE' as TaskStatus] } }))).toBe('BAD_USER_INPUT');
  });

  it('filters: any of the kinds, any of the tags, the status after the change', async () => {
    const { tasks } = await start();
    const report = await tasks.create(alice, { kind: 'report', maxAttempts: 1, tags: ['red', 'big'] });
    const load = await tasks.create(alice, { kind: 'import', maxAttempts: 1, tags: ['blue'] });
    const other = await tasks.create(alice, { kind: 'other', maxAttempts: 1 });
    await tasks.cancel(alice, { id: report.id });
    const page = (filter: object) => tasks.changes(alice, { first: 10, filter }).then(({ changes }) => changes.map(({ task }) => task.id));
    expect(await page({ kinds: ['report', 'import'] })).toEqual([load.id, report.id]);
    expect(await page({ tags: ['big', 'blue'] })).toEqual([load.id, report.id]);
    expect(await page({ statuses: ['QUEUED'] })).toEqual([load.id, other.id]);
    expect(await page({ statuses: ['CANCELLED'], kinds: ['report'] })).toEqual([report.id]);
    expect(await page({ kinds: [], tags: [] })).toEqual([load.id, other.id, report.id]);
    // Nothing matches: the page is empty, its cursor the position read up to.
    const none = await tasks.changes(alice, { first: 10, filter: { kinds: ['none'] } });
    expect(none.changes).toEqual([]);
    expect(none.cursor).toBe((await tasks.changes(alice, { first: 10 })).cursor);
  });

  it('tasks(…).changesCursor: a list then a stream from it misses no change in between', async () => {
    const { tasks } = await start();
    await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const list = await tasks.list(alice, { first: 10 });
    const between = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const stream = await tasks.followChanges(alice, { after: list.changesCursor });
    const later = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    expect(shown(await take(stream, 2))).toEqual([`${between.id}@QUEUED`, `${later.id}@QUEUED`]);
    await stream.return!();
  });

  it('awaitTaskChanges: answers at once when there are changes; else holds, counted, until a matching change', async () => {
    const { tasks, store } = await start();
    await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const at = (await tasks.changes(alice, { first: 10 })).cursor;
    expect((await tasks.awaitChanges(alice, { after: (await tasks.changes(alice, { first: 0 })).cursor, first: 10, timeoutSeconds: 60 })).page.changes).toHaveLength(1);

    const reads = countReads(store);
    const held = tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 60, filter: { kinds: ['wanted'] } });
    await untilHeld(tasks, 1);
    // Other tenants' changes and changes that do not match cost it nothing: no read.
    await tasks.create(bob, { kind: 'wanted', maxAttempts: 1 });
    await tasks.create(alice, { kind: 'unwanted', maxAttempts: 1 });
    expect(reads.reads).toBe(1);
    expect(tasks.stats().waiters).toBe(1);
    const wanted = await tasks.create(alice, { kind: 'wanted', maxAttempts: 1 });
    const { page, wokenAt } = await held;
    expect(page.changes.map(({ task }) => task.id)).toEqual([wanted.id]);
    expect(wokenAt).not.toBeNull();
    expect(tasks.stats().waiters).toBe(0);
    // Caught up with the feed's chain, it answered with the published row: still the one read.
    expect(reads.reads).toBe(1);
    expect((await tasks.changes(alice, { after: page.cursor, first: 10 })).changes).toEqual([]);
  });

  it('a caught-up subscriber of some kinds is handed each matching row as published, with no read, other kinds\' changes in between', async () => {
    const { tasks, store } = await start();
    const stream = await tasks.followChanges(alice, { filter: { kinds: ['wanted'] } });
    const reads = countReads(store);
    const first = await tasks.create(alice, { kind: 'wanted', maxAttempts: 1 });
    await tasks.create(alice, { kind: 'unwanted', maxAttempts: 1 });
    const second = await tasks.create(alice, { kind: 'wanted', maxAttempts: 1 });
    await tasks.cancel(alice, { id: first.id });
    expect(shown(await take(stream, 3))).toEqual([`${first.id}@QUEUED`, `${second.id}@QUEUED`, `${first.id}@CANCELLED`]);
    expect(reads.reads).toBe(0);
    await stream.return!();
  });

  it('awaitTaskChanges: a change committed between its arrival and its wait still ends it (listens, then reads)', async () => {
    const { tasks, store } = await start();
    const at = (await tasks.changes(alice, { first: 10 })).cursor;
    const changesOfKinds = store.changesOfKinds.bind(store);
    let created: Promise<unknown> | undefined;
    store.changesOfKinds = async (...args) => {
      const rows = await changesOfKinds(...args);
      // Committed after the read, before the wait: only the listener can see it.
      created ??= tasks.create(alice, { kind: 'k', maxAttempts: 1 });
      await created;
      return rows;
    };
    const { page } = await tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 60 });
    expect(page.changes).toHaveLength(1);
  });

  it('awaitTaskChanges: timeout, abort and the caps; on timeout an empty page whose cursor is `after`', async () => {
    const { tasks } = await start({ limits: { maxWaitersPerClient: 1, awaitTimeoutMaxSeconds: 60 } });
    const at = (await tasks.changes(alice, { first: 10 })).cursor;
    expect(await tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 0 })).toEqual({ page: { changes: [], cursor: at }, wokenAt: null });
    // A page of 0 can hold nothing: answered at once, never held.
    expect(await tasks.awaitChanges(alice, { after: at, first: 0, timeoutSeconds: 60 })).toEqual({ page: { changes: [], cursor: at }, wokenAt: null });
    expect(await refusalCode(tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: -1 }))).toBe('BAD_USER_INPUT');
    expect(await refusalCode(tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: Number.NaN }))).toBe('BAD_USER_INPUT');

    const abort = new AbortController();
    const held = tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 1e9, signal: abort.signal, client: 'c' });
    await untilHeld(tasks, 1);
    expect(await refusalCode(tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 60, client: 'c' }))).toBe('RESOURCE_EXHAUSTED');
    expect(await refusalCode(tasks.awaitTask(alice, { id: 'x', timeoutSeconds: 0, client: 'c' }))).toBe('ok');
    abort.abort();
    expect(await held).toEqual({ page: { changes: [], cursor: at }, wokenAt: null });
    expect(tasks.stats().waiters).toBe(0);
    expect(ctx!.events.listenerCount()).toBe(0);

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const timed = tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 1e9, client: 'c' });
    await untilHeld(tasks, 1);
    // Clamped to the 60 s maximum.
    vi.advanceTimersByTime(60_000);
    expect(await timed).toEqual({ page: { changes: [], cursor: at }, wokenAt: null });
  });

  it('awaitTaskChanges: a position no task holds any more (retention deleted it) wakes a held request once, not at every announce (the resync every few seconds)', async () => {
    let now = new Date('2026-11-05T10:00:00.000Z');
    const { tasks, store, events } = await start({ clock: () => now, limits: { retentionHours: 1 } });
    await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const at = (await tasks.changes(alice, { first: 10 })).cursor;
    const gone = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    await tasks.cancel(alice, { id: gone.id });
    now = new Date(now.getTime() + 2 * 3_600_000);
    await tasks.purgeExpired();
    const top = await store.feedPosition('alice');

    const reads = countReads(store);
    const abort = new AbortController();
    const held = tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 60, signal: abort.signal });
    await untilHeld(tasks, 1);
    // What the resync does: tells the feed's listeners the position their tenant has reached.
    events.announceFeed('alice', top);
    await until(() => reads.reads === 2 && tasks.stats().waiters === 1, 'the read after the first announce');
    events.announceFeed('alice', top);
    // A wake-up would have read at once (the read is asked for before anything is awaited).
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads.reads).toBe(2);
    abort.abort();
    expect((await held).page).toEqual({ changes: [], cursor: at });
  });

  it('awaitTaskChanges answers with a task\'s latest state: one that matched, then changed to a state its filter does not match, is not in the page', async () => {
    const { tasks, store, events } = await start();
    const task = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const at = (await tasks.changes(alice, { first: 10 })).cursor;
    const abort = new AbortController();
    let answered = false;
    const held = tasks.awaitChanges(alice, { after: at, first: 10, timeoutSeconds: 60, filter: { statuses: ['RUNNING'] }, signal: abort.signal });
    void held.finally(() => (answered = true));
    await untilHeld(tasks, 1);
    // Two writes answered in one turn (a group commit), published one after the other: RUNNING, then CANCELLED.
    const claimed = await store.update(task.id, (current) => claim(current!, 'w', 60, new Date()));
    const cancelled = await store.update(task.id, (current) => cancel(current!, null, new Date()));
    events.publish(claimed.after!);
    events.publish(cancelled.after!);
    // Read from the store, the page holds nothing: the task's latest state is not RUNNING.
    expect((await tasks.changes(alice, { after: at, first: 10, filter: { statuses: ['RUNNING'] } })).changes).toEqual([]);
    await until(() => answered || tasks.stats().waiters === 1, 'an answer, or the request held again');
    abort.abort();
    expect(shown((await held).page.changes)).toEqual([]);
  });

  it('awaitTaskChanges answers with a task\'s latest state when a full page of published rows has it changed again', async () => {
    const { tasks, store, events } = await start();
    const task = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const at = (await tasks.changes(alice, { first: 10 })).cursor;
    const held = tasks.awaitChanges(alice, { after: at, first: 1, timeoutSeconds: 60 });
    await untilHeld(tasks, 1);
    // Two writes answered in one turn, published one after the other: the page of one is full after the first.
    const claimed = await store.update(task.id, (current) => claim(current!, 'w', 60, new Date()));
    const cancelled = await store.update(task.id, (current) => cancel(current!, null, new Date()));
    events.publish(claimed.after!);
    events.publish(cancelled.after!);
    const { page } = await held;
    expect(shown(page.changes)).toEqual([`${task.id}@CANCELLED`]);
    expect(page.cursor).toBe(page.changes[0]!.cursor);
  });

  it('a subscription with a cursor: the backlog first (as the query pages it), then each change as it commits, cursors increasing', async () => {
    const { tasks } = await start();
    const one = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const two = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    await tasks.cancel(alice, { id: one.id });
    const stream = await tasks.followChanges(alice, { after: (await tasks.changes(alice, { first: 0 })).cursor });
    expect(tasks.stats().subscriptions).toBe(1);
    const backlog = await take(stream, 2);
    expect(shown(backlog)).toEqual([`${two.id}@QUEUED`, `${one.id}@CANCELLED`]);
    await tasks.create(bob, { kind: 'k', maxAttempts: 1 });
    await tasks.cancel(alice, { id: two.id });
    const [live] = await take(stream, 1);
    expect(shown([live!])).toEqual([`${two.id}@CANCELLED`]);
    const cursors = [...backlog, live!].map(({ cursor }) => cursor);
    expect(new Set(cursors).size).toBe(3);
    // The cursor each change carries resumes right after it.
    expect(shown((await tasks.changes(alice, { first: 10, after: backlog[1]!.cursor })).changes)).toEqual([`${two.id}@CANCELLED`]);
    await stream.return!();
    expect(tasks.stats().subscriptions).toBe(0);
  });

  it('a subscription of some kinds catches up over a backlog of other kinds longer than a read: its changes in order, each read only its kinds\' rows', async () => {
    const { tasks, store } = await start();
    const from = (await tasks.changes(alice, { first: 0 })).cursor;
    const wanted: string[] = [];
    for (let i = 0; i < 2.5 * FEED_STREAM_QUEUE; i++) {
      const task = await tasks.create(alice, { kind: i % 50 === 7 ? 'wanted' : 'other', maxAttempts: 1 });
      if (task.kind === 'wanted') wanted.push(`${task.id}@QUEUED`);
    }
    const handed: number[] = [];
    const changesOfKinds = store.changesOfKinds.bind(store);
    store.changesOfKinds = async (...args) => {
      const window = await changesOfKinds(...args);
      handed.push(window.tasks.length);
      return window;
    };
    const stream = await tasks.followChanges(alice, { after: from, filter: { kinds: ['wanted'] } });
    expect(shown(await take(stream, wanted.length))).toEqual(wanted);
    // Three reads of a queue's positions each, and of their rows only the wanted ones.
    expect(handed).toEqual([2, 2, 1]);
    const live = await tasks.create(alice, { kind: 'wanted', maxAttempts: 1 });
    expect(shown(await take(stream, 1))).toEqual([`${live.id}@QUEUED`]);
    await stream.return!();
  });

  it('a subscription without a cursor: only changes committed after it started', async () => {
    const { tasks } = await start();
    const old = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const stream = await tasks.followChanges(alice, {});
    const fresh = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    await tasks.cancel(alice, { id: old.id });
    expect(shown(await take(stream, 2))).toEqual([`${fresh.id}@QUEUED`, `${old.id}@CANCELLED`]);
    await stream.return!();
  });

  it('a subscriber a queue behind gets a task\'s changes merged into its latest, never a task left out; reconnecting from a cursor: no gap, no duplicate', async () => {
    const { tasks } = await start();
    const stream = await tasks.followChanges(alice, {});
    const made = [];
    for (let i = 0; i <= FEED_STREAM_QUEUE; i++) made.push(await tasks.create(alice, { kind: 'k', maxAttempts: 1 }));
    for (const task of made) await tasks.cancel(alice, { id: task.id });
    // A queue's worth handed over as published; from the first change past it the stream reads
    // the store, where every task is at its latest state: the last one's creation is merged away.
    const queued = await take(stream, FEED_STREAM_QUEUE);
    expect(shown(queued)).toEqual(made.slice(0, FEED_STREAM_QUEUE).map((task) => `${task.id}@QUEUED`));
    const rest = await take(stream, made.length);
    expect(shown(rest)).toEqual(made.map((task) => `${task.id}@CANCELLED`));
    await stream.return!();

    const resumed = await tasks.followChanges(alice, { after: rest[1]!.cursor });
    expect(shown(await take(resumed, 3))).toEqual(shown(rest.slice(2, 5)));
    await resumed.return!();
    const live = await tasks.followChanges(alice, { after: rest.at(-1)!.cursor });
    const last = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    expect(shown(await take(live, 1))).toEqual([`${last.id}@QUEUED`]);
    await live.return!();
  });

  it('a change no event announced (another instance\'s, its notice lost) is not skipped: a later event or an announced position makes the stream read it', async () => {
    const { tasks, store, events } = await start();
    const one = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    const stream = await tasks.followChanges(alice, {});
    const two = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    expect(shown(await take(stream, 1))).toEqual([`${two.id}@QUEUED`]);
    const next = stream.next();
    await store.update(one.id, (task) => cancel(task!, null, new Date()));
    const three = await tasks.create(alice, { kind: 'k', maxAttempts: 1 });
    expect(shown([(await next).value, ...(await take(stream, 1))])).toEqual([`${one.id}@CANCELLED`, `${three.id}@QUEUED`]);

    const after = stream.next();
    await store.update(two.id, (task) => cancel(task!, null, new Date()));
    events.announceFeed('alice', await store.feedPosition('alice'));
    expect(shown([(await after).value])).toEqual([`${two.id}@CANCELLED`]);
    await stream.return!();
  });

  it('a filtered subscription gets only matching states; a stream left unread holds one batch, not a queue', async () => {
    const { tasks } = await start();
    const stream = await tasks.followChanges(alice, { filter: { statuses: ['CANCELLED'] } });
    const made = [];
    for (let i = 0; i < 150; i++) made.push(await tasks.create(alice, { kind: 'k', maxAttempts: 1 }));
    for (const task of made.slice(0, 120)) await tasks.cancel(alice, { id: task.id });
    const got = await take(stream, 120);
    expect(got.map(({ task }) => task.id)).toEqual(made.slice(0, 120).map((task) => task.id));
    await stream.return!();
  });

  it('a subscription whose start cannot be read is refused and holds nothing: no listener, no place under the caps', async () => {
    const { tasks, store } = await start({ limits: { maxStreamsPerClient: 1 } });
    const feedPosition = store.feedPosition.bind(store);
    store.feedPosition = async () => {
      throw new Error('the database is down');
    };
    await expect(tasks.followChanges(alice, { client: 'c' })).rejects.toThrow('the database is down');
    store.feedPosition = feedPosition;
    expect(ctx!.events.listenerCount()).toBe(0);
    expect(tasks.stats().subscriptions).toBe(0);
    await (await tasks.followChanges(alice, { client: 'c' })).return!();
  });

  it('a stream ends at shutdown and when its client leaves, releasing its listener and its place under the caps', async () => {
    const { tasks } = await start({ limits: { maxStreamsPerClient: 1 } });
    const stream = await tasks.followChanges(alice, { client: 'c' });
    expect(await refusalCode(tasks.followChanges(alice, { client: 'c' }))).toBe('RESOURCE_EXHAUSTED');
    const pending = stream.next();
    await stream.return!();
    expect(await pending).toEqual({ done: true, value: undefined });
    const again = await tasks.followChanges(alice, { client: 'c' });
    const waiting = again.next();
    tasks.close();
    expect(await waiting).toEqual({ done: true, value: undefined });
    await until(() => tasks.stats().subscriptions === 0);
  });
});
