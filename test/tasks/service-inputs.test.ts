/**
 * Every value a client hands the service is bounded: the largest value is taken, one more is
 * BAD_USER_INPUT with a message that names the argument, and nothing is stored. Pages of
 * `tasks` follow their cursors with no overlap and no gap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/tasks/json-depth.js';
import { OPEN_PRINCIPAL as me, type Principal } from '../../src/tasks/principal.js';
import { createEngineTestService, describeEngines, runningTask, taskOf, type EngineTestService, type ServiceOptions } from '../helpers/service.js';

const NAME_MAX = 256;
const TEXT_MAX = 10_000;
const PAGE_MAX = 100;

let ctx: EngineTestService | undefined;

afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

/** The refusal `work` ends with, as `code: message`; 'ok' when it is taken. */
async function outcome(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'ok';
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return `${code}: ${message}`;
  }
}

/** Expects a BAD_USER_INPUT whose message names `field`. */
async function expectRefused(work: Promise<unknown>, field: string) {
  const result = await outcome(work);
  expect(result).toMatch(/^BAD_USER_INPUT: /);
  expect(result, `the message names ${field}`).toContain(field);
}

describeEngines('what the service takes from a client', (engine) => {
  const start = async (options: ServiceOptions = {}) => (ctx = await createEngineTestService(engine, options));

  const running = () => runningTask(ctx!.tasks, { maxAttempts: 3 });

  describe('names (kind, idempotencyKey, workerId, kinds, error code)', () => {
    it(`take ${NAME_MAX} characters, and refuse ${NAME_MAX + 1} or none`, async () => {
      await start();
      const longest = 'n'.repeat(NAME_MAX);
      const tooLong = 'n'.repeat(NAME_MAX + 1);
      const created = await ctx!.tasks.create(me, { kind: longest, idempotencyKey: longest, maxAttempts: 1 });
      expect(created).toMatchObject({ kind: longest, idempotencyKey: longest });
      await expectRefused(ctx!.tasks.create(me, { kind: tooLong, maxAttempts: 1 }), 'kind');
      await expectRefused(ctx!.tasks.create(me, { kind: 'k', idempotencyKey: tooLong, maxAttempts: 1 }), 'idempotencyKey');
      await expectRefused(ctx!.tasks.create(me, { kind: 'k', idempotencyKey: '', maxAttempts: 1 }), 'idempotencyKey');
      await expectRefused(ctx!.tasks.list(me, { kind: tooLong, first: 1 }), 'kind');

      await expectRefused(ctx!.tasks.claim(me, { workerId: '', leaseSeconds: 5 }), 'workerId');
      await expectRefused(ctx!.tasks.claim(me, { workerId: tooLong, leaseSeconds: 5 }), 'workerId');
      await expectRefused(ctx!.tasks.claim(me, { kinds: [''], workerId: 'w', leaseSeconds: 5 }), 'kinds');
      expect(await ctx!.tasks.get(me, created.id)).toMatchObject({ status: 'QUEUED', revision: 1 });
      const claimed = await ctx!.tasks.claim(me, { kinds: [longest], workerId: longest, leaseSeconds: 5 });
      expect(claimed).toMatchObject({ id: created.id, workerId: longest });

      await expectRefused(ctx!.tasks.fail(me, { id: created.id, message: 'm', code: '', retry: false }), 'code');
      await expectRefused(ctx!.tasks.fail(me, { id: created.id, message: 'm', code: tooLong, retry: false }), 'code');
      expect(await ctx!.tasks.fail(me, { id: created.id, message: 'm', code: longest, retry: false })).toMatchObject({
        status: 'FAILED',
        error: { code: longest },
      });
      expect((await ctx!.tasks.list(me, { first: 10 })).tasks).toHaveLength(1);
    });
  });

  describe('texts (progress message, failure message, cancel reason)', () => {
    it(`take ${TEXT_MAX} characters, and refuse ${TEXT_MAX + 1}, changing nothing`, async () => {
      await start();
      const task = await running();
      const longest = 'm'.repeat(TEXT_MAX);
      const tooLong = 'm'.repeat(TEXT_MAX + 1);
      await expectRefused(ctx!.tasks.reportProgress(me, { id: task.id, progress: 5, message: tooLong }), 'message');
      await expectRefused(ctx!.tasks.fail(me, { id: task.id, message: tooLong, retry: false }), 'message');
      await expectRefused(ctx!.tasks.cancel(me, { id: task.id, reason: tooLong }), 'reason');
      expect(await ctx!.tasks.get(me, task.id)).toEqual(task);
      expect(await ctx!.tasks.reportProgress(me, { id: task.id, progress: 5, message: longest })).toMatchObject({ message: longest, revision: 3 });
      expect(await ctx!.tasks.cancel(me, { id: task.id, reason: longest })).toMatchObject({ status: 'CANCELLED', error: { message: longest } });
    });

    it('a lone UTF-16 surrogate is refused, naming the argument; a whole pair (an emoji) is stored', async () => {
      await start();
      for (const kind of ['a\uD800', '\uD800b', 'a\uDC00', '\uDC00\uD800']) await expectRefused(ctx!.tasks.create(me, { kind, maxAttempts: 1 }), 'kind');
      expect((await ctx!.tasks.create(me, { kind: 'report \u{1F600}', maxAttempts: 1 })).kind).toBe('report \u{1F600}');
    });

    it('a NUL character is refused with a message naming the argument', async () => {
      await start();
      const task = await running();
      await expectRefused(ctx!.tasks.reportProgress(me, { id: task.id, progress: 5, message: 'a\u0000' }), 'message');
      await expectRefused(ctx!.tasks.create(me, { kind: '\u0000', maxAttempts: 1 }), 'kind');
    });
  });

  describe('input and result', () => {
    it('take exactly maxPayloadBytes serialized, and refuse one byte more, naming the argument', async () => {
      await start({ limits: { maxPayloadBytes: 100 } });
      // JSON.stringify of a string adds two quotes.
      const fits = 'x'.repeat(98);
      const over = 'x'.repeat(99);
      expect((await ctx!.tasks.create(me, { kind: 'k', input: fits, maxAttempts: 1 })).input).toBe(fits);
      await expectRefused(ctx!.tasks.create(me, { kind: 'k', input: over, maxAttempts: 1 }), 'input');
      const task = await running();
      await expectRefused(ctx!.tasks.complete(me, { id: task.id, result: over }), 'result');
      expect((await ctx!.tasks.complete(me, { id: task.id, result: fits })).result).toBe(fits);
    });

    it(`nest at most ${MAX_JSON_DEPTH} levels; one more is refused, naming the argument`, async () => {
      await start();
      const nested = (levels: number) => {
        let value: unknown = 1;
        for (let i = 0; i < levels; i++) value = [value];
        return value;
      };
      expect((await ctx!.tasks.create(me, { kind: 'k', input: nested(MAX_JSON_DEPTH), maxAttempts: 1 })).input).toEqual(nested(MAX_JSON_DEPTH));
      await expectRefused(ctx!.tasks.create(me, { kind: 'k', input: nested(MAX_JSON_DEPTH + 1), maxAttempts: 1 }), 'input');
    });

    it('no input is stored as null', async () => {
      await start();
      expect((await ctx!.tasks.create(me, { kind: 'k', maxAttempts: 1 })).input).toBeNull();
      expect((await ctx!.tasks.create(me, { kind: 'k', input: null, maxAttempts: 1 })).input).toBeNull();
    });
  });

  describe('timeouts', () => {
    it('a refused timeout says what a timeout must be', async () => {
      await start();
      const task = await running();
      await expectRefused(ctx!.tasks.awaitTask(me, { id: task.id, timeoutSeconds: -1 }).then(taskOf), 'timeout');
    });
  });

  describe('pages of tasks', () => {
    it(`first is an integer from 0 to ${PAGE_MAX}`, async () => {
      await start();
      await ctx!.tasks.create(me, { kind: 'k', maxAttempts: 1 });
      for (const first of [-1, PAGE_MAX + 1, 1.5, Number.NaN]) await expectRefused(ctx!.tasks.list(me, { first }), 'first');
      expect(await ctx!.tasks.list(me, { first: 0 })).toMatchObject({ tasks: [], hasNextPage: true });
      expect(await ctx!.tasks.list(me, { first: PAGE_MAX })).toMatchObject({ hasNextPage: false });
      expect((await ctx!.tasks.list(me, { first: PAGE_MAX })).tasks).toHaveLength(1);
    });

    it('follow their cursors newest first, with no overlap and no gap; the last page says there is no next one', async () => {
      await start();
      const created: string[] = [];
      for (let i = 0; i < 14; i++) created.push((await ctx!.tasks.create(me, { kind: 'k', maxAttempts: 1 })).id);
      const seen: string[] = [];
      let after: string | null = null;
      const pages: boolean[] = [];
      for (;;) {
        const page: Awaited<ReturnType<EngineTestService['tasks']['list']>> = await ctx!.tasks.list(me, { first: 4, after });
        seen.push(...page.tasks.map((task) => task.id));
        pages.push(page.hasNextPage);
        if (!page.hasNextPage) break;
        after = page.cursorOf(page.tasks.at(-1)!);
      }
      expect(seen).toEqual([...created].reverse());
      // 14 tasks in pages of 4 (cursors past the single digits): the fourth page holds the last 2.
      expect(pages).toEqual([true, true, true, false]);
    });

    it('a cursor that is not one from a listing is BAD_USER_INPUT naming `after`', async () => {
      await start();
      const page = await ctx!.tasks.list(me, { first: 1 });
      expect(page.tasks).toEqual([]);
      const forged = (text: string) => Buffer.from(text).toString('base64url');
      // The old readable form, and 44 bytes shaped like a sealed one but not sealed with the key.
      for (const after of ['not a cursor', forged('seq:'), forged('seq:1'), forged('seq:1234567890123456'), Buffer.alloc(36, 7).toString('base64url')]) {
        await expectRefused(ctx!.tasks.list(me, { first: 1, after }), 'after');
      }
    });

    it('a cursor is sealed: it shows no position, and works only for the tenant (or admin) whose listing made it', async () => {
      await start();
      const alice: Principal = { tenant: 'alice', role: 'client' };
      const bob: Principal = { tenant: 'bob', role: 'client' };
      for (let i = 0; i < 3; i++) await ctx!.tasks.create(alice, { kind: 'k', maxAttempts: 1 });
      await ctx!.tasks.create(bob, { kind: 'k', maxAttempts: 1 });
      const page = await ctx!.tasks.list(alice, { first: 1 });
      const cursor = page.cursorOf(page.tasks[0]!);
      // Nothing readable (the old cursors were base64 of `seq:<n>`); one position, one cursor (clients match
      // pages by cursor); another position, another cursor of the same length.
      expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain('seq:');
      expect((await ctx!.tasks.list(alice, { first: 1 })).cursorOf(page.tasks[0]!)).toBe(cursor);
      const second = (await ctx!.tasks.list(alice, { first: 2 })).tasks[1]!;
      expect(page.cursorOf(second)).not.toBe(cursor);
      // Every cursor has one length, whatever the position: how far the shared sequence has come does not show.
      expect(page.cursorOf({ ...second, seq: 1 })).toHaveLength(cursor.length);
      expect(page.cursorOf({ ...second, seq: 123_456_789_012 })).toHaveLength(cursor.length);
      // One bit changed anywhere: not a cursor.
      const bytes = Buffer.from(cursor, 'base64url');
      for (const at of [0, 13, bytes.length - 1]) {
        const tampered = Buffer.from(bytes);
        tampered[at]! ^= 1;
        await expectRefused(ctx!.tasks.list(alice, { first: 5, after: tampered.toString('base64url') }), 'after');
      }
      expect((await ctx!.tasks.list(alice, { first: 5, after: cursor })).tasks).toHaveLength(2);
      await expectRefused(ctx!.tasks.list(bob, { first: 5, after: cursor }), 'after');
      await expectRefused(ctx!.tasks.list(me, { first: 5, after: cursor }), 'after');
    });
  });
});
