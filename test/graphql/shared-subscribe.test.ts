import { execute, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionArgs } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createSharedSubscribe } from '../../src/graphql/execution.js';
import { createTaskEvents } from '../../src/tasks/events.js';
import { createTaskStream } from '../../src/tasks/stream.js';
import type { Task } from '../../src/tasks/task.js';

/** A schema whose subscription streams rows from a real events hub, counting field resolutions. */
function fixture() {
  const events = createTaskEvents();
  let resolutions = 0;
  const row = new GraphQLObjectType({
    name: 'Row',
    fields: {
      revision: { type: GraphQLInt, resolve: (task: Task) => (resolutions++, task.revision) },
      status: { type: GraphQLString },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        updated: {
          type: row,
          subscribe: () => {
            let unsubscribe = () => {};
            const stream = createTaskStream(null, () => unsubscribe());
            unsubscribe = events.subscribe('t1', stream.offer);
            return stream;
          },
          resolve: (task: Task) => task,
        },
      },
    }),
  });
  return { events, schema, resolutions: () => resolutions };
}

const interpretOn = (args: ExecutionArgs, rootValue: unknown) => execute({ ...args, rootValue });

const row = (revision: number) => ({ id: 't1', revision, status: revision < 3 ? 'RUNNING' : 'COMPLETED' }) as Task;

describe('shared subscription execution', () => {
  it('executes each published row once per operation, however many subscribers', async () => {
    const { events, schema, resolutions } = fixture();
    const subscribe = createSharedSubscribe(interpretOn);
    const document = parse('subscription { updated { revision status } }');
    const subscribers = await Promise.all(
      Array.from({ length: 50 }, () => subscribe({ schema, document }, 'same operation') as Promise<AsyncIterableIterator<unknown>>),
    );
    const other = (await subscribe({ schema, document }, 'another caller')) as AsyncIterableIterator<unknown>;
    const firsts = [...subscribers, other].map((s) => s.next());
    events.publish(row(2));
    const results = await Promise.all(firsts);
    expect(results[0]).toEqual({ done: false, value: { data: { updated: { revision: 2, status: 'RUNNING' } } } });
    expect(new Set(results.slice(0, 50).map((r) => r.value)).size).toBe(1);
    expect(results[50]!.value).toEqual(results[0]!.value);
    expect(resolutions()).toBe(2);
    await Promise.all([...subscribers, other].map((s) => s.return?.()));
    expect(events.listenerCount()).toBe(0);
  });

  it('answers a source stream that cannot start with its errors, executing nothing', async () => {
    const { schema, resolutions } = fixture();
    const subscribe = createSharedSubscribe(interpretOn);
    const result = await subscribe({ schema, document: parse('subscription { nope }') }, 'k');
    expect(result).toMatchObject({ errors: [expect.anything()] });
    expect(resolutions()).toBe(0);
  });
});
