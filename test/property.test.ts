/**
 * Property: whatever sequence of worker and client calls hits a few tasks, some of them fired
 * concurrently, while the clock moves and leases expire, the task service keeps its promises:
 *
 * 1. a final state (COMPLETED, FAILED, CANCELLED) never changes again;
 * 2. `revision` goes up by exactly one per committed change, and every change (creation included) is published once;
 * 3. every subscriber gets each change in order, or conflated to the newest, and a final state ends
 *    its stream;
 * 4. the database and the published events agree: an event is delivered only after its
 *    transaction committed, and the stored row is the newest event, but for the lease a later
 *    heartbeat renewed (a lease extension is not a change, so it has no revision and no event);
 * 5. a refused write changes nothing;
 *
 * and every row, stored or published, is a state the state machine allows.
 * Calls may be refused with a DomainError of an expected code; any other exception is a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../src/tasks/errors.js';
import { OPEN_PRINCIPAL } from '../src/tasks/principal.js';
import type { TaskStream } from '../src/tasks/stream.js';
import { isFinal, TASK_STATUSES, type Task } from '../src/tasks/task.js';
import { createTestService } from './helpers/service.js';

const me = OPEN_PRINCIPAL;
const WORKERS = ['w1', 'w2'] as const;
const KINDS = ['a', 'b'] as const;
const REFUSALS: ReadonlySet<string> = new Set(['BAD_USER_INPUT', 'INVALID_TRANSITION', 'LEASE_MISMATCH', 'NOT_FOUND']);
const MISSING_ID = 'no-such-task';

// ---------------------------------------------------------------------------------------------
// Commands

/** Which task a call is about: an index into the created tasks, or -1 for an unknown id. */
type Target = number;

type Op =
  | { type: 'claim'; kinds: string[] | null; workerId: string; leaseSeconds: number }
  | { type: 'heartbeat'; target: Target; workerId: string; leaseSeconds: number }
  | { type: 'reportProgress'; target: Target; progress: number; message: string | null | undefined; workerId: string | null | undefined }
  | { type: 'complete'; target: Target; result: unknown; workerId: string | null | undefined }
  | { type: 'fail'; target: Target; retry: boolean; workerId: string | null | undefined }
  | { type: 'cancel'; target: Target; reason: string | null | undefined }
  | { type: 'advance'; seconds: number };

/** One call on its own, or a few calls fired together, each after `delay` microtask turns. */
type Step = { type: 'single'; op: Op } | { type: 'concurrent'; calls: { op: Op; delay: number }[] };

const target = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.constant(-1) });
/**
 * A worker id; HOLDER stands for whichever worker holds the target task's lease when the call is
 * made, so that worker writes are not almost always refused.
 */
const HOLDER = '<holder>';
const workerId = fc.constantFrom(...WORKERS, HOLDER, HOLDER);
const maybeWorkerId = fc.constantFrom(undefined, null, ...WORKERS, HOLDER, HOLDER);
/** Mostly valid lease lengths, sometimes refused ones. */
const leaseSeconds = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 2, 5, 30) }, { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5) });

/** Weighted so that tasks get claimed, renewed and finished often enough to matter, not just cancelled. */
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('claim' as const),
      kinds: fc.oneof(fc.constant(null), fc.subarray([...KINDS, 'c'])),
      workerId,
      leaseSeconds,
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('heartbeat' as const), target, workerId, leaseSeconds }) },
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('reportProgress' as const),
      target,
      progress: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: -5, max: 105 }) }, { weight: 1, arbitrary: fc.constant(50.5) }),
      message: fc.constantFrom(undefined, null, 'working'),
      workerId: maybeWorkerId,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('complete' as const),
      target,
      result: fc.constantFrom(undefined, null, 42, { ok: true }),
      workerId: maybeWorkerId,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('fail' as const), target, retry: fc.constantFrom(true, true, false), workerId: maybeWorkerId }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('cancel' as const), target, reason: fc.constantFrom(undefined, null, 'user asked') }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('advance' as const), seconds: fc.oneof(fc.constantFrom(0, 1, 2, 5, 31), fc.integer({ min: 0, max: 40 })) }),
  },
);

/** Points a call at `focus`, if it has a target. */
const aimAt = (focus: Target | null, op: Op): Op => (focus === null || !('target' in op) ? op : { ...op, target: focus });

/** Concurrent calls, half the time all on one task so that they race on it. */
const concurrentCalls = fc
  .record({
    focus: fc.option(target, { nil: null }),
    calls: fc.array(fc.record({ op, delay: fc.constantFrom(0, 0, 1, 3) }), { minLength: 2, maxLength: 5 }),
  })
  .map(({ focus, calls }) => calls.map((each) => ({ ...each, op: aimAt(focus, each.op) })));

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('single' as const), op }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('concurrent' as const), calls: concurrentCalls }) },
);

const taskSpecs = fc.array(
  fc.record({ kind: fc.constantFrom(...KINDS), maxAttempts: fc.integer({ min: 1, max: 4 }) }),
  { minLength: 2, maxLength: 3 },
);

// ---------------------------------------------------------------------------------------------
// The world under test

/** A subscriber that pulls each state as soon as it is there. */
interface EagerReader {
  seen: Task[];
  ended: boolean;
  stream: TaskStream;
  finished: Promise<void>;
}

function readEagerly(stream: TaskStream): EagerReader {
  const reader: EagerReader = { seen: [], ended: false, stream, finished: Promise.resolve() };
  reader.finished = (async () => {
    for await (const task of stream) reader.seen.push(task);
    reader.ended = true;
  })();
  return reader;
}

async function createWorld(specs: { kind: string; maxAttempts: number }[]) {
  let now = Date.parse('2025-01-01T00:00:00.000Z');
  const ctx = createTestService({ clock: () => new Date(now) });
  const created: Task[] = [];
  for (const spec of specs) {
    created.push(await ctx.tasks.create(me, spec));
    // Distinct creation times make the claim order (oldest first) independent of the random ids.
    now += 1;
  }
  const eager: EagerReader[] = [];
  const slow: TaskStream[] = [];
  const unsubscribe: (() => void)[] = [];
  /** Events delivered while a transaction was open, or before their revision was stored. */
  const uncommitted: { event: Task; inTransaction: boolean; storedRevision: number | null }[] = [];
  for (const task of created) {
    eager.push(readEagerly(await ctx.tasks.follow(me, { id: task.id })));
    slow.push(await ctx.tasks.follow(me, { id: task.id }));
    unsubscribe.push(
      ctx.events.subscribe(task.id, (event) => {
        const inTransaction = ctx.database.sqlite.inTransaction;
        const storedRevision = ctx.repo.get(event.id)?.revision ?? null;
        if (inTransaction || storedRevision === null || storedRevision < event.revision) {
          uncommitted.push({ event, inTransaction, storedRevision });
        }
      }),
    );
  }
  return {
    ...ctx,
    created,
    eager,
    slow,
    unsubscribe,
    uncommitted,
    /** The row of each task once it was seen final (invariant 1). */
    finalRows: new Map<string, Task>(),
    /** The row the last successful heartbeat on each task returned: it moves the lease without an event. */
    renewals: new Map<string, Task>(),
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

type World = Awaited<ReturnType<typeof createWorld>>;

const idOf = (world: World, target: Target) => (target < 0 ? MISSING_ID : world.created[target % world.created.length]!.id);

/** Resolves HOLDER to the worker holding the task's lease now (w1 when none does). */
function worker<W extends string | null | undefined>(world: World, target: Target, workerId: W): W | string {
  if (workerId !== HOLDER) return workerId;
  return (target >= 0 && world.repo.get(idOf(world, target))?.workerId) || WORKERS[0];
}

function call(world: World, op: Op): Promise<unknown> {
  const { tasks } = world;
  switch (op.type) {
    case 'claim':
      return tasks.claim(me, { kinds: op.kinds, workerId: worker(world, -1, op.workerId), leaseSeconds: op.leaseSeconds });
    case 'heartbeat': {
      const id = idOf(world, op.target);
      return tasks.heartbeat(me, { id, workerId: worker(world, op.target, op.workerId), leaseSeconds: op.leaseSeconds }).then((row) => {
        world.renewals.set(row.id, row);
        return row;
      });
    }
    case 'reportProgress':
      return tasks.reportProgress(me, {
        id: idOf(world, op.target),
        progress: op.progress,
        message: op.message,
        workerId: worker(world, op.target, op.workerId),
      });
    case 'complete':
      return tasks.complete(me, { id: idOf(world, op.target), result: op.result, workerId: worker(world, op.target, op.workerId) });
    case 'fail':
      return tasks.fail(me, {
        id: idOf(world, op.target),
        message: 'boom',
        code: 'E_TEST',
        retry: op.retry,
        workerId: worker(world, op.target, op.workerId),
      });
    case 'cancel':
      return tasks.cancel(me, { id: idOf(world, op.target), reason: op.reason });
    case 'advance':
      world.advance(op.seconds);
      return Promise.resolve(tasks.expireLeases());
  }
}

/** Throws unless `error` is a refusal the contract allows. */
function expectRefusal(error: unknown): void {
  if (!(error instanceof DomainError) || !REFUSALS.has(error.code)) throw error;
}

/** Lets every pending microtask and the eager readers run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function rows(world: World): Promise<Task[]> {
  return Promise.all(world.created.map(async (task) => (await world.tasks.get(me, task.id))!));
}

const eventsOf = (world: World, id: string) => world.published.filter((task) => task.id === id);

/** A task without the lease fields, which a heartbeat moves without a revision. */
const withoutLease = ({ leaseSeconds: _seconds, leaseExpiresAt: _expiresAt, ...rest }: Task) => rest;

/**
 * The newest committed state of a task, given its newest event (or creation): a heartbeat at that
 * revision came after it, since a heartbeat reads the row it renews, so its row is newer still.
 */
function newestState(world: World, newestEvent: Task): Task {
  const renewal = world.renewals.get(newestEvent.id);
  return renewal?.revision === newestEvent.revision ? renewal : newestEvent;
}

// ---------------------------------------------------------------------------------------------
// Running steps

/**
 * One call on its own: also checks that a refusal changes nothing (5), that cancel on a final task
 * is a no-op (1) and that a heartbeat, a lease extension, is not a change (2).
 */
async function runSingle(world: World, op: Op): Promise<void> {
  const before = await rows(world);
  const eventCount = world.published.length;
  let result: unknown;
  try {
    result = await call(world, op);
  } catch (error) {
    expectRefusal(error);
    expect(await rows(world), `refused ${op.type} changed a row`).toEqual(before);
    expect(world.published.length, `refused ${op.type} published`).toBe(eventCount);
    return;
  }
  if (op.type === 'claim' && result === null) {
    expect(await rows(world), 'a claim that found nothing changed a row').toEqual(before);
  }
  if (op.type === 'cancel' && op.target >= 0) {
    const index = op.target % world.created.length;
    if (isFinal(before[index]!.status)) {
      expect(result, 'cancel on a final task must return it unchanged').toEqual(before[index]);
      expect(world.published.length, 'cancel on a final task published').toBe(eventCount);
    }
  }
  if (op.type === 'heartbeat') {
    const index = op.target % world.created.length;
    expect((result as Task).revision, 'a heartbeat changed the revision').toBe(before[index]!.revision);
    expect(world.published.length, 'a heartbeat published').toBe(eventCount);
  }
  if (op.type !== 'advance' && result !== null) {
    const row = await world.tasks.get(me, (result as Task).id);
    expect(result, `${op.type} returned a row that is not the stored one`).toEqual(row);
  }
}

/** A few calls fired together, each after a few microtask turns, as concurrent clients would. */
async function runConcurrent(world: World, calls: { op: Op; delay: number }[]): Promise<void> {
  const outcomes = await Promise.allSettled(
    calls.map(async ({ op, delay }) => {
      for (let turn = 0; turn < delay; turn++) await Promise.resolve();
      return call(world, op);
    }),
  );
  for (const outcome of outcomes) if (outcome.status === 'rejected') expectRefusal(outcome.reason);
}

// ---------------------------------------------------------------------------------------------
// Invariants

function expectAllowedState(task: Task, where: string): void {
  expect(TASK_STATUSES, `${where}: status`).toContain(task.status);
  expect(Number.isInteger(task.progress) && task.progress >= 0 && task.progress <= 100, `${where}: progress ${task.progress}`).toBe(true);
  if (task.status === 'COMPLETED') expect(task.progress, `${where}: COMPLETED progress`).toBe(100);
  expect(task.attempts, `${where}: attempts`).toBeLessThanOrEqual(task.maxAttempts);
  const running = task.status === 'RUNNING';
  expect(task.workerId !== null, `${where}: a worker iff RUNNING`).toBe(running);
  expect(task.leaseExpiresAt !== null, `${where}: a lease iff RUNNING`).toBe(running);
  if (running) expect(Number.isInteger(task.leaseSeconds) && task.leaseSeconds! >= 1, `${where}: lease ${task.leaseSeconds}s`).toBe(true);
  expect(task.completedAt !== null, `${where}: completedAt iff final`).toBe(isFinal(task.status));
}

async function checkInvariants(world: World): Promise<void> {
  await settle();
  const current = await rows(world);
  world.published.forEach((task, index) => expectAllowedState(task, `event #${index}`));
  // 4. An event is delivered only after its transaction committed.
  expect(world.uncommitted, 'an event woke a listener before its row was committed').toEqual([]);

  world.created.forEach((created, index) => {
    const row = current[index]!;
    const name = `task ${index}`;
    expectAllowedState(row, `${name} row`);

    // 1. A final state never changes.
    const frozen = world.finalRows.get(created.id);
    if (frozen) expect(row, `${name}: a final row changed`).toEqual(frozen);
    else if (isFinal(row.status)) world.finalRows.set(created.id, row);

    // 2. One revision per committed change, each published once, nothing after a final state.
    const events = eventsOf(world, created.id);
    expect(
      events.map((event) => event.revision),
      `${name}: published revisions`,
    ).toEqual(events.map((_, i) => i + 1));
    expect(events[0], `${name}: its creation published`).toEqual(created);
    expect(row.revision, `${name}: revision vs events`).toBe(events.length);
    expect(events.slice(0, -1).some((event) => isFinal(event.status)), `${name}: published after a final state`).toBe(false);

    // 4. The database and the events agree (but for a lease a heartbeat renewed since).
    const history = events;
    expect(withoutLease(row), `${name}: row vs last event`).toEqual(withoutLease(history.at(-1)!));
    expect(row, `${name}: row vs newest event or heartbeat`).toEqual(newestState(world, history.at(-1)!));

    // 3. The eager subscriber has had every state in order, or conflated, and is up to date.
    const reader = world.eager[index]!;
    const revisions = reader.seen.map((task) => task.revision);
    expect(revisions[0], `${name}: eager subscriber starts at the created state`).toBe(1);
    revisions.slice(1).forEach((revision, i) => expect(revision, `${name}: eager revisions increase`).toBeGreaterThan(revisions[i]!));
    reader.seen.forEach((task) => expect(task, `${name}: eager got r${task.revision}`).toEqual(history[task.revision - 1]));
    expect(reader.seen.at(-1), `${name}: eager subscriber is up to date`).toEqual(history.at(-1));
    expect(reader.ended, `${name}: eager stream ended iff final`).toBe(isFinal(row.status));
  });
}

/** The slow subscriber reads only now: the newest state, then the end if it is final. */
async function checkSlowSubscribersAndClose(world: World): Promise<void> {
  const current = await rows(world);
  for (const [index, stream] of world.slow.entries()) {
    const row = current[index]!;
    const created = world.created[index]!;
    const name = `task ${index}`;
    const first = await nextNow(stream);
    expect(first.done, `${name}: slow subscriber got nothing`).toBe(false);
    expect(first.value, `${name}: slow subscriber's state vs last event`).toEqual(eventsOf(world, created.id).at(-1) ?? created);
    expect(withoutLease(first.value), `${name}: slow subscriber's state vs row`).toEqual(withoutLease(row));
    if (isFinal(row.status)) {
      expect((await nextNow(stream)).done, `${name}: slow stream goes on after a final state`).toBe(true);
    } else {
      await stream.return!();
    }
  }
  for (const reader of world.eager) if (!reader.ended) await reader.stream.return!();
  world.unsubscribe.forEach((stop) => stop());
  await Promise.all(world.eager.map((reader) => reader.finished));
  expect(world.tasks.stats().subscriptions, 'streams left open').toBe(0);
  expect(world.events.listenerCount(), 'listeners left subscribed').toBe(0);
}

/** The stream's next result if it is there now; fails instead of hanging when it is not. */
async function nextNow(stream: TaskStream): Promise<IteratorResult<Task>> {
  const pending = Symbol('pending');
  const result = await Promise.race([stream.next(), settle().then(() => pending)]);
  if (result === pending) throw new Error('the stream has nothing to deliver');
  return result as IteratorResult<Task>;
}

// ---------------------------------------------------------------------------------------------

describe('task service under random concurrent calls (property)', () => {
  it('keeps final states, revisions, streams and events consistent', async () => {
    await fc.assert(
      fc.asyncProperty(taskSpecs, fc.array(step, { maxLength: 40, size: 'max' }), async (specs, steps) => {
        const world = await createWorld(specs);
        try {
          await checkInvariants(world);
          for (const each of steps) {
            if (each.type === 'single') await runSingle(world, each.op);
            else await runConcurrent(world, each.calls);
            await checkInvariants(world);
          }
          await checkSlowSubscribersAndClose(world);
        } finally {
          world.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
