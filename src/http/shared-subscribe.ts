import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isAsyncIterable, mapAsyncIterator } from 'graphql-yoga';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * Subscriptions for fan-out: every subscriber of a task is handed the same published row, so
 * the result of executing one operation (same document, variables and caller) on that row is
 * computed once and shared by all its subscribers, instead of once per socket. `finish` maps
 * each result once (error codes and masking), where Yoga's plugins would have.
 */
export function createSharedSubscribe(finish: (result: ExecutionResult) => ExecutionResult) {
  const executions = new WeakMap<object, Map<string, Result>>();

  const executeShared = (args: ExecutionArgs, shareKey: string, event: object): Result => {
    let byOperation = executions.get(event);
    if (!byOperation) executions.set(event, (byOperation = new Map()));
    let result = byOperation.get(shareKey);
    if (!result) {
      const executed = execute({ ...args, rootValue: event });
      result = executed instanceof Promise ? executed.then(finish) : finish(executed);
      byOperation.set(shareKey, result);
    }
    return result;
  };

  /** `shareKey` must tell apart everything the result depends on besides the event. */
  return async (args: ExecutionArgs, shareKey: string) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return finish(source);
    return mapAsyncIterator(source as AsyncIterableIterator<object>, (event) => executeShared(args, shareKey, event));
  };
}
