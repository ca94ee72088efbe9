import { randomBytes } from 'node:crypto';
import { badInput, DomainError, notFound, resourceExhausted } from './errors.js';
import type { TaskEvents } from './events.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-depth.js';
import { assertWorker, canSee, type Principal } from './principal.js';
import { createSlotCounter, createTokenBuckets, QuotaError, type RefusalReason } from './quotas.js';
import type { ListPosition, TaskStore } from './store.js';
import { createTaskStream, type TaskStream } from './stream.js';
import * as machine from './task.js';
import { isFinal, type Task, type TaskStatus } from './task.js';

export interface TaskServiceLimits {
  /** Longest `awaitTask` hold; longer timeouts are clamped to it. In seconds. */
  awaitTimeoutMaxSeconds: number;
  /** Held long-polls over all clients. */
  maxWaiters: number;
  /** Held long-polls per client (its address). */
  maxWaitersPerClient: number;
  /** Largest serialized `input` or `result`, in bytes. */
  maxPayloadBytes: number;
  /** How long finished tasks are kept before they are deleted, in hours. */
  retentionHours: number;
  /** Writes per second per tenant, every write counted (a refused one too): a token bucket's refill. Unset: no limit. */
  tenantWritesPerSecond?: number;
  /** Writes a tenant may make at once, before its rate applies: the bucket's size. @default tenantWritesPerSecond */
  tenantWriteBurst?: number;
  /** Most QUEUED tasks per tenant: createTask past it is refused. Unset: no cap. */
  maxQueuedPerTenant?: number;
  /** Open subscription streams per client address (every transport together). Unset: no cap. */
  maxStreamsPerClient?: number;
  /** Open subscription streams per API key (`Principal.keyId`; every transport together). Unset: no cap. */
  maxStreamsPerKey?: number;
}

/** A subscription stream's place under the per-client caps: call it to give the place back (once; later calls do nothing). */
export type StreamSlot = () => void;

export interface TaskServiceDeps {
  store: TaskStore;
  events: TaskEvents;
  limits: TaskServiceLimits;
  /** @default () => new Date() */
  clock?: () => Date;
  onError?: (error: unknown, context: string) => void;
  /** Told how long each write took and how it ended (for `/metrics`). */
  observer?: TaskServiceObserver;
}

export type WriteOperation = 'create' | 'claim' | 'heartbeat' | 'reportProgress' | 'complete' | 'fail' | 'cancel';

export interface TaskServiceObserver {
  /** A write ended after `seconds`: `outcome` is 'ok', the error code it was refused with, or 'error' when unexpected. */
  wrote(operation: WriteOperation, seconds: number, outcome: string): void;
  /** A quota refused a request (a write, a stream). */
  refused?(reason: RefusalReason): void;
}

export interface AwaitOptions {
  id: string;
  /** Seconds; 0 returns at once; clamped to `awaitTimeoutMaxSeconds`. */
  timeoutSeconds: number;
  afterRevision?: number | null;
  /** Ends the wait (and frees all it holds) when the client goes away. */
  signal?: AbortSignal;
  /** Whom to count the held request against for the per-client cap, e.g. an address. */
  client?: string;
  /** Called when a commit ends the held wait, with `performance.now()` at the moment the commit was published. */
  onWoken?: (publishedAt: number) => void;
}

export interface TaskPage {
  tasks: Task[];
  hasNextPage: boolean;
  cursorOf(task: Task): string;
}

/** Longest id, kind, worker id or idempotency key we store; longer ones are refused or unknown. */
const MAX_NAME_LENGTH = 256;
const MAX_MESSAGE_LENGTH = 10_000;
const MAX_PAGE_SIZE = 100;
/** Most kinds one `claimTask` may name. */
const MAX_CLAIM_KINDS = 100;
const LEASE_BATCH = 500;
const RETENTION_BATCH = 1_000;
const RETENTION_INTERVAL_MS = 60_000;

/**
 * The task service: every write is one transaction in the store whose new row is published
 * only after it commits; reads and waits go through here for every transport.
 */
export function createTaskService({
  store,
  events,
  limits,
  clock = () => new Date(),
  onError = () => {},
  observer = { wrote: () => {} },
}: TaskServiceDeps) {
  const waiters = new Set<() => void>();
  const waitersByClient = new Map<string, number>();
  const streams = new Set<TaskStream>();
  const streamSlots = createSlotCounter();
  let closed = false;
  const writeRate =
    limits.tenantWritesPerSecond === undefined
      ? null
      : createTokenBuckets({
          ratePerSecond: limits.tenantWritesPerSecond,
          burst: limits.tenantWriteBurst ?? limits.tenantWritesPerSecond,
          now: () => clock().getTime(),
        });

  const leaseTimer = createWakeTimer(
    async () => {
      await expireLeases();
      return store.nextLeaseExpiry();
    },
    clock,
    onError,
  );
  const rearmLeaseTimer = () => guard(async () => leaseTimer.at(await store.nextLeaseExpiry()), 'lease expiry');
  void rearmLeaseTimer();
  // Retention, and a fresh look at the earliest lease: another instance may have granted it.
  const housekeeping = setInterval(() => {
    void guard(purgeExpired, 'retention');
    void rearmLeaseTimer();
  }, RETENTION_INTERVAL_MS).unref();

  async function guard(work: () => Promise<unknown>, context: string): Promise<void> {
    try {
      await work();
    } catch (error) {
      onError(error, context);
    }
  }

  const isValidId = (id: string) => id.length > 0 && id.length <= MAX_NAME_LENGTH && !id.includes('\u0000');

  async function visible(principal: Principal, id: string): Promise<Task | null> {
    if (!isValidId(id)) return null;
    const task = await store.get(id);
    return task && canSee(principal, task) ? task : null;
  }

  /** After a write commits: its row to the subscribers (if it is a change), its lease to the timer. */
  function committed(before: Task | null, after: Task | null): void {
    if (!after) return;
    if (after.revision !== before?.revision) events.publish(after);
    if (after.leaseExpiresAt) leaseTimer.at(after.leaseExpiresAt.getTime());
  }

  /** Applies `change` to one task in a transaction; publishes the row once committed. */
  async function write(principal: Principal, id: string, change: (task: Task, now: Date) => Task): Promise<Task> {
    assertOpen();
    if (!isValidId(id)) throw notFound(id);
    const { before, after } = await store.update(id, (task) => {
      if (!task || !canSee(principal, task)) throw notFound(id);
      return change(task, clock());
    });
    committed(before, after);
    return after;
  }

  /**
   * Runs one write of `principal`'s, once its tenant's write rate admits it, and tells the
   * observer how long it took and how it ended.
   */
  async function timed<T>(operation: WriteOperation, principal: Principal, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const waitSeconds = writeRate?.take(principal.tenant) ?? 0;
      if (waitSeconds > 0) {
        throw new QuotaError(
          'tenant_write_rate',
          `This tenant writes faster than its quota of ${limits.tenantWritesPerSecond} per second; retry later.`,
          Math.ceil(waitSeconds),
        );
      }
      const result = await work();
      outcome = 'ok';
      return result;
    } catch (error) {
      if (error instanceof DomainError) outcome = error.code;
      if (error instanceof QuotaError) observer.refused?.(error.reason);
      throw error;
    } finally {
      observer.wrote(operation, (performance.now() - started) / 1000, outcome);
    }
  }

  async function expireLeases(): Promise<void> {
    const now = clock();
    for (;;) {
      const expired = await store.expireLeases(now.getTime(), LEASE_BATCH, (task) => machine.expireLease(task, now));
      expired.forEach(events.publish);
      if (expired.length < LEASE_BATCH) return;
    }
  }

  async function purgeExpired(): Promise<void> {
    const before = clock().getTime() - limits.retentionHours * 3_600_000;
    while ((await store.deleteFinishedBefore(before, RETENTION_BATCH)) === RETENTION_BATCH);
  }

  function assertOpen() {
    if (closed) throw resourceExhausted('The server is shutting down.');
  }

  function admitWaiter(client: string): () => void {
    if (waiters.size >= limits.maxWaiters) throw resourceExhausted('Too many held long-polls on this server; retry later.');
    const held = waitersByClient.get(client) ?? 0;
    if (held >= limits.maxWaitersPerClient) throw resourceExhausted('Too many held long-polls from this client; retry later.');
    waitersByClient.set(client, held + 1);
    return () => {
      const left = (waitersByClient.get(client) ?? 1) - 1;
      if (left === 0) waitersByClient.delete(client);
      else waitersByClient.set(client, left);
    };
  }

  /**
   * Takes a place for one subscription stream of `principal` from `client` (an address), under
   * MAX_STREAMS_PER_CLIENT and MAX_STREAMS_PER_KEY; throws RESOURCE_EXHAUSTED, holding nothing,
   * when either is full. Synchronous: messages that arrive at once cannot all pass.
   */
  function reserveStream(principal: Principal, client = ''): StreamSlot {
    const caps: Parameters<typeof streamSlots.take>[0][number][] = [];
    const { maxStreamsPerClient: perClient, maxStreamsPerKey: perKey } = limits;
    if (perClient !== undefined) {
      caps.push({
        key: `client\u0000${client}`,
        cap: perClient,
        reason: 'streams_per_client',
        message: `This client address has ${perClient} subscriptions open, the most it may have; end one first.`,
      });
    }
    if (perKey !== undefined && principal.keyId !== undefined) {
      caps.push({
        key: `key\u0000${principal.keyId}`,
        cap: perKey,
        reason: 'streams_per_key',
        message: `This API key has ${perKey} subscriptions open, the most it may have; end one first.`,
      });
    }
    try {
      return streamSlots.take(caps);
    } catch (error) {
      if (error instanceof QuotaError) observer.refused?.(error.reason);
      throw error;
    }
  }

  return {
    async get(principal: Principal, id: string): Promise<Task | null> {
      return visible(principal, id);
    },

    /** The caller's tenant's tasks (every tenant's for an admin), newest first; `after` is a cursor from an earlier page. */
    async list(
      principal: Principal,
      { status, kind, first, after }: { status?: TaskStatus | null; kind?: string | null; first: number; after?: string | null },
    ): Promise<TaskPage> {
      if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
        throw badInput(`first must be an integer from 0 to ${MAX_PAGE_SIZE}.`);
      }
      if (kind != null) checkName('kind', kind);
      const tenant = principal.role === 'admin' ? null : principal.tenant;
      const rows = await store.list({ tenant, status, kind, after: after ? decodeCursor(after) : null, limit: first + 1 });
      return { tasks: rows.slice(0, first), hasNextPage: rows.length > first, cursorOf: encodeCursor };
    },

    create(
      principal: Principal,
      spec: { kind: string; input?: unknown; idempotencyKey?: string | null; maxAttempts: number },
    ): Promise<Task> {
      return timed('create', principal, async () => {
        assertOpen();
        checkName('kind', spec.kind);
        if (spec.idempotencyKey != null) checkName('idempotencyKey', spec.idempotencyKey);
        checkPayload('input', spec.input, limits.maxPayloadBytes);
        const task = machine.createTask(
          {
            id: newTaskId(),
            tenant: principal.tenant,
            kind: spec.kind,
            input: spec.input ?? null,
            idempotencyKey: spec.idempotencyKey ?? null,
            maxAttempts: spec.maxAttempts,
          },
          clock(),
        );
        return store.create(task, { maxQueued: limits.maxQueuedPerTenant });
      });
    },

    /**
     * Claims the oldest queued task of the caller's tenant, of `kinds` (any kind when empty);
     * null when none is queued. Claiming is per tenant, for admin keys too.
     */
    claim(
      principal: Principal,
      { kinds, workerId, leaseSeconds }: { kinds?: readonly string[] | null; workerId: string; leaseSeconds: number },
    ): Promise<Task | null> {
      return timed('claim', principal, async () => {
        assertOpen();
        assertWorker(principal);
        checkName('workerId', workerId);
        if (kinds && kinds.length > MAX_CLAIM_KINDS) throw badInput(`kinds may name at most ${MAX_CLAIM_KINDS} kinds.`);
        kinds?.forEach((kind) => checkName('kinds', kind));
        machine.checkLeaseSeconds(leaseSeconds);
        const claimed = await store.claim(principal.tenant, kinds ?? null, (task) => machine.claim(task, workerId, leaseSeconds, clock()));
        committed(null, claimed);
        return claimed;
      });
    },

    heartbeat(principal: Principal, { id, workerId, leaseSeconds }: { id: string; workerId: string; leaseSeconds: number }) {
      return timed('heartbeat', principal, async () => {
        assertWorker(principal);
        machine.checkLeaseSeconds(leaseSeconds);
        return write(principal, id, (task, now) => machine.heartbeat(task, workerId, leaseSeconds, now));
      });
    },

    reportProgress(
      principal: Principal,
      { id, progress, message, workerId }: { id: string; progress: number; message?: string | null; workerId?: string | null },
    ) {
      return timed('reportProgress', principal, async () => {
        assertWorker(principal);
        if (message != null) checkText('message', message);
        return write(principal, id, (task, now) => machine.reportProgress(task, progress, message, workerId, now));
      });
    },

    complete(principal: Principal, { id, result, workerId }: { id: string; result?: unknown; workerId?: string | null }) {
      return timed('complete', principal, async () => {
        assertWorker(principal);
        checkPayload('result', result, limits.maxPayloadBytes);
        return write(principal, id, (task, now) => machine.complete(task, result, workerId, now));
      });
    },

    fail(
      principal: Principal,
      {
        id,
        message,
        code,
        retry,
        workerId,
      }: { id: string; message: string; code?: string | null; retry: boolean; workerId?: string | null },
    ) {
      return timed('fail', principal, async () => {
        assertWorker(principal);
        checkText('message', message);
        if (code != null) checkName('code', code);
        const failure = { message, code: code ?? null, details: null };
        return write(principal, id, (task, now) => machine.fail(task, failure, retry, workerId, now));
      });
    },

    cancel(principal: Principal, { id, reason }: { id: string; reason?: string | null }) {
      return timed('cancel', principal, async () => {
        if (reason != null) checkText('reason', reason);
        return write(principal, id, (task, now) => machine.cancel(task, reason, now));
      });
    },

    /**
     * Holds until the task is final, or (with `afterRevision`) has a newer revision, or the
     * timeout passes, or the client leaves; returns the latest state. Null for an unknown id.
     * Listens before it reads, so a change committed in between still ends the wait.
     */
    async awaitTask(principal: Principal, { id, timeoutSeconds, afterRevision, signal, client = '', onWoken }: AwaitOptions) {
      const timeoutMs = checkTimeout(timeoutSeconds, limits.awaitTimeoutMaxSeconds);
      let latest = null as Task | null;
      let wake: ((publishedAt: number) => void) | null = null;
      const unsubscribe = events.subscribe(id, (task) => {
        if (latest && task.revision <= latest.revision) return;
        latest = task;
        if (isAnswer(task, afterRevision)) wake?.(performance.now());
      });
      try {
        const current = await visible(principal, id);
        if (!current) return null;
        if (!latest || current.revision > latest.revision) latest = current;
        if (isAnswer(latest, afterRevision) || timeoutMs === 0 || signal?.aborted || closed) return latest;
        const releaseSlot = admitWaiter(client);
        let timer: NodeJS.Timeout | undefined;
        let end: (() => void) | undefined;
        try {
          // Resolves with when a commit woke it; with nothing (or the abort event) for a timeout,
          // a leaving client or shutdown. The promise's own resolve is what is registered, not a
          // closure around it: it is held for the whole wait, and tsx (keepNames) gives every
          // named closure its own property dictionary, ~250 bytes.
          const publishedAt = await new Promise<unknown>((resolve) => {
            end = resolve as () => void;
            wake = resolve;
            waiters.add(end);
            timer = setTimeout(end, timeoutMs);
            signal?.addEventListener('abort', end, { once: true });
          });
          if (typeof publishedAt === 'number') onWoken?.(publishedAt);
        } finally {
          clearTimeout(timer);
          if (end) {
            signal?.removeEventListener('abort', end);
            waiters.delete(end);
          }
          releaseSlot();
        }
        return latest;
      } finally {
        unsubscribe();
      }
    },

    /**
     * The task's states from now on: the current one first (only if newer than
     * `afterRevision`), then each committed change, ending after a final state.
     * Throws NOT_FOUND for an unknown id. The stream holds a place under the per-client caps
     * (`slot`, when the transport reserved one already, else one taken here for `client`)
     * until it ends, however it ends.
     */
    async follow(
      principal: Principal,
      { id, afterRevision, client, slot }: { id: string; afterRevision?: number | null; client?: string; slot?: StreamSlot },
    ): Promise<TaskStream> {
      try {
        assertOpen();
      } catch (error) {
        slot?.();
        throw error;
      }
      const release = slot ?? reserveStream(principal, client);
      let unsubscribe = () => {};
      const stream = createTaskStream(afterRevision ?? null, () => {
        unsubscribe();
        streams.delete(stream);
        release();
      });
      unsubscribe = events.subscribe(id, stream.offer);
      streams.add(stream);
      let current: Task | null;
      try {
        current = await visible(principal, id);
      } catch (error) {
        await stream.return!();
        throw error;
      }
      if (!current) {
        await stream.return!();
        throw notFound(id);
      }
      stream.offer(current);
      if (isFinal(current.status)) stream.end();
      return stream;
    },

    reserveStream,

    /** Sends expired leases back to the queue (or to FAILED); runs on its own timer too. */
    expireLeases,

    /** A lease granted elsewhere (another instance) ends at `time` (epoch ms): expire it then if it is still held. */
    noteLeaseExpiry: (time: number) => leaseTimer.at(time),

    /** Deletes finished tasks past the retention period; runs on its own timer too. */
    purgeExpired,

    stats: () => ({ waiters: waiters.size, subscriptions: streams.size }),

    /** Answers every held long-poll with its latest state, ends every stream, stops timers. */
    close(): void {
      closed = true;
      leaseTimer.stop();
      clearInterval(housekeeping);
      for (const wake of [...waiters]) wake();
      for (const stream of [...streams]) stream.end();
    },
  };
}

export type TaskService = ReturnType<typeof createTaskService>;

/**
 * A timer that fires at the earliest time asked of it. `run` does the work and returns the
 * next time it is wanted (or null); no timer is left running while nothing is due.
 */
function createWakeTimer(
  run: () => Promise<number | null>,
  clock: () => Date,
  onError: (error: unknown, context: string) => void,
) {
  let timer: NodeJS.Timeout | undefined;
  let dueAt = Infinity;
  let stopped = false;

  function at(time: number | null): void {
    if (stopped || time === null || time >= dueAt) return;
    clearTimeout(timer);
    dueAt = time;
    // Node fires a longer delay after 1 ms: a far time is reached in steps of the longest one.
    timer = setTimeout(fire, Math.min(MAX_TIMER_DELAY_MS, Math.max(0, time - clock().getTime()))).unref();
  }

  async function fire(): Promise<void> {
    dueAt = Infinity;
    timer = undefined;
    let next: number | null = null;
    try {
      next = await run();
    } catch (error) {
      onError(error, 'lease expiry');
      next = clock().getTime() + 1_000;
    }
    at(next);
  }

  return {
    at,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The longest delay `setTimeout` takes as given (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Whether `task` ends an `awaitTask`: final, or (with `afterRevision`) newer than it. */
function isAnswer(task: Task, afterRevision: number | null | undefined): boolean {
  return isFinal(task.status) || (afterRevision != null && task.revision > afterRevision);
}

/** ≥ 64 random bits, as the contract asks; 128 here, URL-safe. */
const newTaskId = () => randomBytes(16).toString('base64url');

function checkTimeout(timeoutSeconds: number, maxSeconds: number): number {
  if (typeof timeoutSeconds !== 'number' || !Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
    throw badInput('timeout must be a finite number of seconds, 0 or more.');
  }
  return Math.min(timeoutSeconds, maxSeconds) * 1000;
}

function checkName(field: string, value: string): void {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw badInput(`${field} must be 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  checkText(field, value);
}

/**
 * PostgreSQL's text cannot hold NUL, so no engine stores it: refused alike on both. Nor can
 * either hold a lone UTF-16 surrogate (JSON may escape one, "\ud800"): stored, it would read
 * back as U+FFFD.
 */
function checkText(field: string, value: string): void {
  if (value.length > MAX_MESSAGE_LENGTH) throw badInput(`${field} must be at most ${MAX_MESSAGE_LENGTH} characters.`);
  if (value.includes('\u0000')) throw badInput(`${field} must not contain NUL characters.`);
  if (LONE_SURROGATE.test(value)) throw badInput(`${field} must be Unicode text: it has a lone surrogate.`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Measured for depth before it is serialized: `JSON.stringify` recurses, and a deep value would overflow the stack. */
function checkPayload(field: string, value: unknown, maxBytes: number): void {
  if (value === undefined || value === null) return;
  if (jsonDepthExceeds(value)) throw badInput(`${field} may nest arrays and objects at most ${MAX_JSON_DEPTH} levels deep.`);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxBytes) throw badInput(`${field} is ${bytes} bytes serialized; the limit is ${maxBytes}.`);
}

function encodeCursor(task: Task): string {
  return Buffer.from(`seq:${task.seq}`).toString('base64url');
}

function decodeCursor(cursor: string): ListPosition {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match) return { seq: Number(match[1]) };
  throw badInput('after is not a cursor from this listing.');
}
