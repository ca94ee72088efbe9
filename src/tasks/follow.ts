import { notFound } from './errors.js';
import type { TaskEvents } from './events.js';
import { checkOutputRange, OUTPUT_READ_BUDGET_BYTES } from './output.js';
import { createOutputStream, type OutputStream } from './output-stream.js';
import type { Principal } from './principal.js';
import type { TaskStore } from './store.js';
import { createSlotCounter, QuotaError, type RefusalReason } from './quotas.js';
import { createTaskStream, type TaskStream } from './stream.js';
import { isFinal, type Task } from './task.js';

/** A subscription stream's place under the per-client caps: call it to give the place back (once; later calls do nothing). */
export type StreamSlot = () => void;

export interface FollowLimits {
  /** Open subscription streams per client address (every transport together). Unset: no cap. */
  maxStreamsPerClient?: number;
  /** Open subscription streams per API key (`Principal.keyId`; every transport together). Unset: no cap. */
  maxStreamsPerKey?: number;
}

export interface FollowOptions {
  id: string;
  afterRevision?: number | null;
  client?: string;
  /** A place the transport reserved already (graphql-ws does, before the operation runs). */
  slot?: StreamSlot;
}

export interface FollowOutputOptions {
  id: string;
  /** Chunks with seq > after. @default 0 */
  after?: number | null;
  client?: string;
  slot?: StreamSlot;
}

/** Chunks an output stream reads from storage at a time, and most it holds undelivered. */
export const OUTPUT_STREAM_PAGE = 100;

/**
 * Subscription streams (`taskUpdated` and `taskOutput`, over WebSocket and SSE): each holds a
 * place under the per-client and per-key caps.
 */
export function createFollows({
  store,
  events,
  limits,
  visible,
  assertOpen,
  onRefused,
  onOutputPage = () => {},
}: {
  store: Pick<TaskStore, 'readOutput'>;
  events: TaskEvents;
  limits: FollowLimits;
  visible: (principal: Principal, id: string) => Promise<Task | null>;
  assertOpen: () => void;
  onRefused: (reason: RefusalReason) => void;
  /** Told of each page of output a stream reads from storage. */
  onOutputPage?: () => void;
}) {
  const streams = new Set<{ end(): void }>();
  const streamSlots = createSlotCounter();

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
      if (error instanceof QuotaError) onRefused(error.reason);
      throw error;
    }
  }

  /**
   * The task's states from now on: the current one first (only if newer than
   * `afterRevision`), then each committed change, ending after a final state.
   * Throws NOT_FOUND for an unknown id. The stream holds a place under the per-client caps
   * (`slot`, when the transport reserved one already, else one taken here for `client`)
   * until it ends, however it ends.
   */
  async function follow(principal: Principal, { id, afterRevision, client, slot }: FollowOptions): Promise<TaskStream> {
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
    const current = await currentOrEnd(stream, principal, id);
    stream.offer(current);
    if (isFinal(current.status)) stream.end();
    return stream;
  }

  /** The task's state to start a stream from; when it cannot be read or is unknown (NOT_FOUND), the stream ends first. */
  async function currentOrEnd(stream: AsyncIterator<unknown>, principal: Principal, id: string): Promise<Task> {
    let current: Task | null;
    try {
      current = await visible(principal, id);
    } catch (error) {
      await stream.return?.();
      throw error;
    }
    if (!current) {
      await stream.return?.();
      throw notFound(id);
    }
    return current;
  }

  /**
   * The task's output chunks with seq > `after`, in order, each once, then each new chunk as
   * it commits; ends after the task is final and its last chunk delivered. Throws NOT_FOUND
   * for an unknown id; holds a place under the stream caps until it ends, as `follow` does.
   */
  async function followOutput(principal: Principal, { id, after, client, slot }: FollowOutputOptions): Promise<OutputStream> {
    try {
      assertOpen();
      checkOutputRange(after ?? 0, 1);
    } catch (error) {
      slot?.();
      throw error;
    }
    const release = slot ?? reserveStream(principal, client);
    let unsubscribe = () => {};
    const stream = createOutputStream({
      after: after ?? 0,
      read: (from, limit) => store.readOutput(id, from, limit, OUTPUT_READ_BUDGET_BYTES),
      pageSize: OUTPUT_STREAM_PAGE,
      budget: OUTPUT_READ_BUDGET_BYTES,
      onPage: onOutputPage,
      release: () => {
        unsubscribe();
        streams.delete(stream);
        release();
      },
    });
    const unsubscribeOutput = events.subscribeOutput(id, stream.offerChunk);
    const unsubscribeTask = events.subscribe(id, stream.offerTask);
    unsubscribe = () => {
      unsubscribeOutput();
      unsubscribeTask();
    };
    streams.add(stream);
    const current = await currentOrEnd(stream, principal, id);
    stream.offerTask(current);
    return stream;
  }

  return {
    follow,
    followOutput,
    reserveStream,
    count: () => streams.size,
    /** Ends every stream (at shutdown). */
    endAll(): void {
      for (const stream of [...streams]) stream.end();
    },
  };
}
