import type { Cursors } from './cursors.js';
import type { FeedListener, TaskEvents } from './events.js';
import type { StreamSlot } from './follow.js';
import type { Principal } from './principal.js';
import type { FeedWindow, TaskStore } from './store.js';
import { nextTurn } from './stream.js';
import type { Task, TaskStatus } from './task.js';
import { checkFeedFilter, checkPageSize, checkTimeout } from './validate.js';
import type { createWaits, WaitLimits } from './waits.js';

/** Most changes one page of a feed may hold (`first`). */
export const MAX_FEED_PAGE_SIZE = 1000;
/** Rows a page read takes from the store at once. */
const READ_BATCH = 1000;
/**
 * Most rows one page read looks at before it answers with what it has and the position it read
 * up to: a filter that matches little costs each request a bounded read.
 */
const MAX_SCAN = 10_000;
/** Changes a subscription stream holds undelivered at most: rows queued as published, or one read from the store. */
export const FEED_STREAM_QUEUE = 100;

/** Which changes a feed reader wants; each list, when given and not empty, admits any of its values. */
export interface FeedFilter {
  kinds?: readonly string[] | null;
  /** Tasks carrying any of these tags. */
  tags?: readonly string[] | null;
  /** Matched against the state after the change. */
  statuses?: readonly TaskStatus[] | null;
}

/** One task in a feed: its latest state, and the cursor of the position that change took. */
export interface FeedChange {
  cursor: string;
  task: Task;
}

export interface FeedPage {
  changes: FeedChange[];
  /** Pass as `after` to continue: the last change's cursor, or the position read up to. */
  cursor: string;
}

export interface ChangesOptions {
  filter?: FeedFilter | null;
  /** A feed cursor; from the beginning of the feed when omitted. */
  after?: string | null;
  first: number;
}

export interface AwaitChangesOptions {
  filter?: FeedFilter | null;
  after: string;
  /** Seconds; 0 returns at once; clamped to `awaitTimeoutMaxSeconds`. */
  timeoutSeconds: number;
  first: number;
  signal?: AbortSignal;
  client?: string;
}

export interface AwaitChangesResult {
  page: FeedPage;
  /** `performance.now()` when the commit that ended the wait was published; null when no commit did. */
  wokenAt: number | null;
}

export interface FollowChangesOptions {
  filter?: FeedFilter | null;
  /** With a cursor, every change after it first; without, only changes committed after the stream started. */
  after?: string | null;
  client?: string;
  /** A place the transport reserved already under the per-client stream caps. */
  slot?: StreamSlot;
}

/** A subscription to a feed, as an async iterator that never ends by itself. */
export interface FeedStream extends AsyncIterableIterator<FeedChange> {
  /** Ends the stream (shutdown). */
  end(): void;
}

type Waits = ReturnType<typeof createWaits>;

/**
 * Change feeds: each tenant's tasks in the order of their latest change, read from the store
 * (`changes`), held for until a change comes (`awaitChanges`), or followed (`follow`). A feed
 * is the caller's tenant's, an admin's too. The store holds one row per task, at its latest
 * position, so a task changed three times since a cursor appears once, with its latest state.
 */
export function createFeeds({
  store,
  events,
  cursors,
  waits,
  limits,
  isClosed,
  assertOpen,
  reserveStream,
}: {
  store: TaskStore;
  events: TaskEvents;
  cursors: Cursors;
  waits: Pick<Waits, 'admit' | 'park'>;
  limits: Pick<WaitLimits, 'awaitTimeoutMaxSeconds'>;
  isClosed: () => boolean;
  assertOpen: () => void;
  reserveStream: (principal: Principal, client?: string) => StreamSlot;
}) {
  const streams = new Set<FeedStream>();

  /**
   * The tenant's matching tasks changed after `after`, up to `first`, in position order.
   * `upTo` is where the next read starts: the last change's position when the page is full,
   * else the position read up to. `cut` says the read stopped at MAX_SCAN, not at the end.
   * Changes of other kinds than the filter's are passed over in the store, unread.
   */
  async function read(tenant: string, after: number, first: number, filter: FeedFilter | null | undefined, matches: (task: Task) => boolean) {
    const kinds = kindsOf(filter);
    const found = new Map<string, Task>();
    let upTo = after;
    let scanned = 0;
    let cut = false;
    while (found.size < first) {
      if (scanned >= MAX_SCAN) {
        cut = true;
        break;
      }
      const window = await store.changesOfKinds(tenant, upTo, READ_BATCH, kinds);
      scanned += window.scanned;
      let full = false;
      for (const task of window.tasks) {
        if (!matches(task)) continue;
        // Changed again between two reads: once, at its latest position.
        found.delete(task.id);
        found.set(task.id, task);
        if (found.size === first) {
          upTo = task.feedPos;
          full = true;
          break;
        }
      }
      if (full) break;
      upTo = window.scannedTo;
      if (window.scanned < READ_BATCH) break;
    }
    return { tasks: [...found.values()], upTo, cut };
  }

  const changeOf = (principal: Principal, task: Task): FeedChange => ({ cursor: cursors.encodeFeed(principal, task.feedPos), task });

  /**
   * A row published to many readers of its tenant's feed becomes one change for all of them:
   * its cursor is sealed once, and subscribers of the same operation share its execution.
   * (Rows read from the store are each one reader's, and not kept here.)
   */
  const published = new WeakMap<Task, FeedChange>();
  const publishedChangeOf = (principal: Principal, task: Task): FeedChange => {
    if (principal.tenant !== task.tenant) return changeOf(principal, task);
    let change = published.get(task);
    if (!change) published.set(task, (change = changeOf(principal, task)));
    return change;
  };

  const positionOf = (principal: Principal, after: string | null | undefined): number => (after == null ? 0 : cursors.decodeFeed(principal, after));

  /** The page of the caller's tenant's feed after `after` (a cursor; the beginning when omitted). */
  async function changes(principal: Principal, { filter, after, first }: ChangesOptions): Promise<FeedPage> {
    checkPageSize(first, MAX_FEED_PAGE_SIZE);
    const matches = matcher(filter);
    const page = await read(principal.tenant, positionOf(principal, after), first, filter, matches);
    return { changes: page.tasks.map((task) => changeOf(principal, task)), cursor: cursors.encodeFeed(principal, page.upTo) };
  }

  /**
   * `changes`, but when nothing matching changed after `after` it holds, like `awaitTask`, until
   * the first matching change or the timeout (then an empty page with `cursor` equal to `after`).
   * It listens to the tenant's feed before it reads, so a change committed in between ends the
   * wait. While held it reads nothing: once its read has caught up with the feed's chain
   * (`FeedHead`), the matching rows published next are the answer as they are; anything else
   * (a change announced without its row, a broken chain) sends it back to the store.
   */
  async function awaitChanges(principal: Principal, { filter, after, timeoutSeconds, first, signal, client = '' }: AwaitChangesOptions): Promise<AwaitChangesResult> {
    const timeoutMs = checkTimeout(timeoutSeconds, limits.awaitTimeoutMaxSeconds);
    checkPageSize(first, MAX_FEED_PAGE_SIZE);
    const matches = matcher(filter);
    const { tenant } = principal;
    let scanned = cursors.decodeFeed(principal, after);
    /** The highest position published or announced: committed, with every position before it. */
    let heard = scanned;
    const startedAt = performance.now();
    let stale = false;
    let chain: number | null = null;
    /** Matching rows published after `scanned`, in position order, a task once (its latest). */
    const fresh = new Map<string, Task>();
    let wake: ((publishedAt: number) => void) | null = null;
    let wokenAt: number | null = null;
    const unsubscribe = events.subscribeFeed(
      tenant,
      (position, task, link) => {
        heard = Math.max(heard, position);
        if (position <= scanned) return;
        if (task && !matches(task)) {
          // A task handed over before, whose latest state no longer matches: not in the page,
          // which is then read from the store (a task left out for a full page may be due).
          if (fresh.delete(task.id)) stale = true;
          return;
        }
        // A task handed over before that changed again once the page was full: its new position
        // would pass over the ones left out; read from the store.
        if (task && link === chain && !stale && !(fresh.size === first && fresh.has(task.id))) {
          if (fresh.size === first) return;
          fresh.delete(task.id);
          fresh.set(task.id, task);
        } else {
          stale = true;
        }
        wake?.(performance.now());
      },
      filter?.kinds,
    );
    const answer = (changes: FeedChange[], upTo: number): AwaitChangesResult => ({
      page: { changes, cursor: cursors.encodeFeed(principal, upTo) },
      wokenAt,
    });
    let release: (() => void) | null = null;
    try {
      for (;;) {
        stale = false;
        chain = null;
        fresh.clear();
        const target = heard;
        const page = await read(tenant, scanned, first, filter, matches);
        if (page.tasks.length > 0 || page.cut || first === 0) return answer(page.tasks.map((task) => changeOf(principal, task)), page.upTo);
        // Read to the end of the feed: that covers every position heard of before the read began,
        // also one no task holds any more (deleted), which would otherwise wake it at every announce.
        scanned = Math.max(page.upTo, target);
        if (stale) continue;
        chain = events.joinFeed(tenant, scanned);
        const remaining = timeoutMs - (performance.now() - startedAt);
        if (timeoutMs === 0 || remaining <= 0 || signal?.aborted || isClosed()) break;
        release ??= waits.admit(client);
        wokenAt = await waits.park(remaining, signal, (armed) => {
          wake = armed;
        });
        if (wokenAt === null) break;
        if (!stale && fresh.size > 0) {
          const tasks = [...fresh.values()];
          // Still on the chain, with room to spare: every change up to the feed's head here was
          // heard, so the cursor goes there and the next request reads none of the others.
          const head = events.feedHead(tenant);
          const upTo = head?.chain === chain && fresh.size < first ? head.position : Math.max(...tasks.map((task) => task.feedPos));
          return answer(tasks.map((task) => publishedChangeOf(principal, task)), upTo);
        }
      }
      return { page: { changes: [], cursor: after }, wokenAt: null };
    } finally {
      release?.();
      unsubscribe();
    }
  }

  /**
   * Follows the caller's tenant's feed: with `after`, every matching change after it (paged
   * from the store), then each new one as it commits; without, only changes committed after
   * it started. Cursors strictly increase along the stream; it never ends by itself.
   *
   * A stream listens only to its filter's kinds. While it is caught up with the feed's chain
   * here, each published row is handed to it directly, and queued while the subscriber is
   * busy, up to FEED_STREAM_QUEUE. Otherwise (a subscriber that far behind, a change it did
   * not hear of, events out of order) a published change is only a wake-up, and the stream
   * reads the store from the last position it covered, FEED_STREAM_QUEUE rows at a time: a
   * task's intermediate states merge into its latest, nothing is left out, and the stream
   * holds at most FEED_STREAM_QUEUE changes.
   */
  async function follow(principal: Principal, { filter, after, client, slot }: FollowChangesOptions): Promise<FeedStream> {
    let release = slot;
    let stream: ReturnType<typeof createFeedStream> | undefined;
    try {
      assertOpen();
      const matches = matcher(filter);
      const start = after == null ? null : cursors.decodeFeed(principal, after);
      release ??= reserveStream(principal, client);
      stream = createFeedStream({
        matches,
        backlog: start !== null,
        read: (from) => store.changesOfKinds(principal.tenant, from, FEED_STREAM_QUEUE, kindsOf(filter)),
        changeOf: (task) => changeOf(principal, task),
        publishedChangeOf: (task) => publishedChangeOf(principal, task),
        subscribe: (listener) => events.subscribeFeed(principal.tenant, listener, filter?.kinds),
        join: (position) => events.joinFeed(principal.tenant, position),
        released: () => {
          streams.delete(stream!);
          release!();
        },
      });
      streams.add(stream);
      // Listening already: a change committed from here on is heard, whatever this read returns.
      stream.startAt(start ?? (await store.feedPosition(principal.tenant)));
      return stream;
    } catch (error) {
      // Ending the stream gives its place back; without one, the place is given back here.
      if (stream) stream.end();
      else release?.();
      throw error;
    }
  }

  return {
    changes,
    awaitChanges,
    follow,
    count: () => streams.size,
    /** The cursor naming the position the caller's tenant's feed has reached. */
    async position(principal: Principal): Promise<string> {
      return cursors.encodeFeed(principal, await store.feedPosition(principal.tenant));
    },
    /** Ends every stream (at shutdown). */
    endAll(): void {
      for (const stream of [...streams]) stream.end();
    },
  };
}

/** The kinds a filter admits; null for any. */
const kindsOf = (filter: FeedFilter | null | undefined): readonly string[] | null => (filter?.kinds?.length ? filter.kinds : null);

/** A checked filter as a predicate on a task's state. An empty or missing list admits anything. */
export function matcher(filter: FeedFilter | null | undefined): (task: Task) => boolean {
  checkFeedFilter(filter);
  const kinds = filter?.kinds?.length ? new Set(filter.kinds) : null;
  const tags = filter?.tags?.length ? new Set(filter.tags) : null;
  const statuses = filter?.statuses?.length ? new Set(filter.statuses) : null;
  return (task) => (!kinds || kinds.has(task.kind)) && (!statuses || statuses.has(task.status)) && (!tags || task.tags.some((tag) => tags.has(tag)));
}

interface FeedStreamParts {
  matches: (task: Task) => boolean;
  /** Whether changes may already be stored after the start position (a stream that resumes from a cursor). */
  backlog: boolean;
  /** The next FEED_STREAM_QUEUE positions of the tenant's feed after `from`: the tasks of the stream's kinds there. */
  read: (from: number) => Promise<FeedWindow>;
  changeOf: (task: Task) => FeedChange;
  /** The change of a published row, shared by every reader handed that row. */
  publishedChangeOf: (task: Task) => FeedChange;
  subscribe: (listener: FeedListener) => () => void;
  /** The feed's chain when `position` is its head here (`TaskEvents.joinFeed`). */
  join: (position: number) => number | null;
  /** Called once, when the stream ends however it ends. */
  released: () => void;
}

/**
 * One feed subscription. `covered` is the position up to which every change was delivered or
 * passed over (not matching); `heard` the highest position published to it. While the stream
 * has caught up with its feed's chain (`chain`, see `FeedHead`) and is not reading, each
 * published row is taken as is, and queued (up to FEED_STREAM_QUEUE) while the subscriber is busy.
 * Anything else (a change announced without its row, a broken chain, a full queue, a start
 * with a backlog) makes it read the store from `covered` once the queue is empty.
 */
function createFeedStream(parts: FeedStreamParts): FeedStream & { startAt(position: number): void } {
  const { matches, read, changeOf } = parts;
  let covered: number | null = null;
  let heard = 0;
  let chain: number | null = null;
  let backlog = parts.backlog;
  const ready: FeedChange[] = [];
  let reading = false;
  let waiting: { resolve: (result: IteratorResult<FeedChange>) => void; reject: (error: unknown) => void } | null = null;
  let ended = false;

  const unsubscribe = parts.subscribe((position, task, link) => {
    if (ended) return;
    if (covered !== null && position <= covered) return;
    if (task && link === chain && !reading && ready.length < FEED_STREAM_QUEUE) {
      covered = heard = position;
      if (matches(task)) {
        ready.push(parts.publishedChangeOf(task));
        deliver();
      }
      return;
    }
    chain = null;
    heard = Math.max(heard, position);
    if (waiting) void pump();
  });

  const finish = (): IteratorResult<FeedChange> => {
    if (!ended) {
      ended = true;
      ready.length = 0;
      unsubscribe();
      parts.released();
    }
    return { done: true, value: undefined };
  };

  function deliver(): void {
    if (!waiting) return;
    const change = ready.shift();
    if (!change) return;
    const { resolve } = waiting;
    waiting = null;
    resolve({ done: false, value: change });
  }

  /** Reads the store while the subscriber waits, nothing is held and there may be changes it has not covered. */
  async function pump(): Promise<void> {
    while (!ended && !reading && waiting && ready.length === 0 && covered !== null && (backlog || heard > covered)) {
      reading = true;
      // Every change up to `target` was committed before this read began (events come after
      // commit; on PostgreSQL a tenant's positions commit in order): a short read covers it.
      const target = heard;
      let window: FeedWindow;
      try {
        await nextTurn();
        window = await read(covered);
      } catch (error) {
        reading = false;
        const failed = waiting;
        waiting = null;
        finish();
        failed?.reject(error);
        return;
      }
      reading = false;
      if (ended) return;
      for (const task of window.tasks) if (matches(task)) ready.push(changeOf(task));
      covered = window.scannedTo;
      if (window.scanned < FEED_STREAM_QUEUE) {
        backlog = false;
        covered = Math.max(covered, target);
        if (heard <= covered) chain = parts.join(covered);
      }
      heard = Math.max(heard, covered);
      deliver();
    }
  }

  const stream: FeedStream & { startAt(position: number): void } = {
    startAt(position) {
      if (ended) return;
      covered = position;
      if (!backlog && heard <= position) chain = parts.join(position);
      heard = Math.max(heard, position);
      if (waiting) void pump();
    },

    end() {
      const result = finish();
      if (waiting) {
        const { resolve } = waiting;
        waiting = null;
        resolve(result);
      }
    },

    next() {
      const change = ready.shift();
      if (change) return Promise.resolve({ done: false, value: change });
      if (ended) return Promise.resolve(finish());
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        void pump();
      });
    },

    return() {
      stream.end();
      return Promise.resolve(finish());
    },

    throw(error?: unknown) {
      stream.end();
      return Promise.reject(error);
    },

    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
