import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Counter, Histogram, type Registry } from 'prom-client';

/** The series of one operation type. */
interface Series {
  requests: Counter.Internal;
  duration: Histogram.Internal<string>;
  /** Errors in results: graphql-js's, or a resolver's. */
  resultErrors: Counter.Internal;
  validationErrors: Counter.Internal;
  /** A subscription's stream failed (not an event with errors: the stream itself). */
  streamErrors: Counter.Internal;
  /** The hook a stream's events pass through: made once, not per subscriber. */
  onEvents: { onNext: (payload: { result: unknown }) => void };
}

/**
 * GraphQL operations counted and timed by operation type, under the names, help texts and
 * labels of @envelop/prometheus (`usePrometheus` with operation names and error paths off):
 * `graphql_envelop_request`, `graphql_envelop_request_duration` and
 * `graphql_envelop_error_result{phase}`. An operation is counted and timed when its result is
 * ready, a subscription when its stream starts (the time it took to set up: its lifetime says
 * nothing of the server's speed), and then each event's errors.
 *
 * `usePrometheus` did the same at several times the cost: per request it found the operation
 * and filtered its labels in the parse, validate and context hooks and made a closure per
 * phase; per subscriber it added an iterator layer (to see the stream end) and ran its
 * handlers for every event, a third of what a subscription event cost in process. Here an
 * operation costs one timestamp, the label children are made once per operation type, and a
 * subscriber's events only have their errors counted, in the layer the other plugins' event
 * hooks share.
 */
export function useOperationMetrics(registry: Registry): Plugin {
  const registers = [registry];
  const requests = new Counter({
    name: 'graphql_envelop_request',
    help: 'Counts the amount of GraphQL requests executed through Envelop',
    labelNames: ['operationType'],
    registers,
  });
  const durations = new Histogram({
    name: 'graphql_envelop_request_duration',
    help: 'Time spent on running the GraphQL operation from parse to execute',
    labelNames: ['operationType'],
    registers,
  });
  const errors = new Counter({
    name: 'graphql_envelop_error_result',
    help: 'Counts the amount of errors reported from all phases',
    labelNames: ['operationType', 'phase'],
    registers,
  });

  const byType = new Map<string, Series>();
  const seriesOf = (operationType: string): Series => {
    const known = byType.get(operationType);
    if (known) return known;
    const series: Series = {
      requests: requests.labels(operationType),
      duration: durations.labels(operationType),
      resultErrors: errors.labels(operationType, 'execute'),
      validationErrors: errors.labels(operationType, 'validate'),
      streamErrors: errors.labels(operationType, 'subscribe'),
      onEvents: { onNext: ({ result }) => countErrors(series, result) },
    };
    byType.set(operationType, series);
    return series;
  };
  const typeOf = (document: DocumentNode, operationName: string | null | undefined) => getOperationAST(document, operationName)?.operation ?? 'unknown';
  const counted = (series: Series, startedAt: number) => {
    series.requests.inc();
    series.duration.observe((performance.now() - startedAt) / 1000);
  };
  const countErrors = (series: Series, result: unknown) => {
    const count = (result as ExecutionResult).errors?.length;
    if (count) series.resultErrors.inc(count);
  };

  /** An operation about to run: counted and timed once its result is ready, or its stream started. */
  const started = ({ document, operationName }: { document: DocumentNode; operationName?: string | null }) => {
    const startedAt = performance.now();
    const series = seriesOf(typeOf(document, operationName));
    const ready = ({ result }: { result: unknown }) => {
      counted(series, startedAt);
      if (isAsyncIterable(result)) return series.onEvents;
      countErrors(series, result);
      return undefined;
    };
    return { series, ready };
  };

  return {
    onValidate: ({ params: { documentAST }, context }) => {
      return ({ valid }) => {
        if (!valid) seriesOf(typeOf(documentAST, (context as { params?: { operationName?: string | null } }).params?.operationName)).validationErrors.inc();
      };
    },
    onExecute: ({ args }) => ({ onExecuteDone: started(args).ready }),
    onSubscribe: ({ args }) => {
      const { series, ready } = started(args);
      return { onSubscribeResult: ready, onSubscribeError: () => series.streamErrors.inc() };
    },
  };
}
