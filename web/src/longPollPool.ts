/** How long one long-poll may be held by the server, in seconds. */
export const LONG_POLL_SECONDS = 25;
/**
 * The hold while more long-polls are followed than there are connections for (see
 * LongPollPool). One waiting for its turn waits at most this long (the held ones give their
 * connections back within it), so with 8 followers on 4 connections each change shows within
 * about a second.
 */
const SHARED_POLL_SECONDS = 1;
/** Held requests at once: a browser opens 6 HTTP/1.1 connections per origin; keep 2 free. */
const MAX_HELD = 4;

interface Slot {
  controller: AbortController;
  seconds: number;
}

export interface Grant {
  /** The hold to ask the server for. */
  seconds: number;
  /** Aborted when the pool wants the connection back. */
  signal: AbortSignal;
  release: () => void;
}

/**
 * Shares the browser's few connections between the page's long-polls (the list's change feed
 * and each open output log). With up to MAX_HELD followers each holds its own 25 s request;
 * with more, every hold is cut to SHARED_POLL_SECONDS and they take turns, first come first
 * served: a released connection goes to the follower that has waited longest, never straight
 * back to the one that released it. One that changed while waiting gets the change at once on
 * its turn, since each asks from where it left off. The list and the buttons never queue
 * behind long-polls.
 */
export class LongPollPool {
  private followers = 0;
  private readonly held = new Set<Slot>();
  /** Tasks waiting for a connection, oldest first. */
  private readonly waiting: Array<(grant: Grant) => void> = [];

  constructor(private readonly maxHeld = MAX_HELD) {}

  /** A task starts being followed; call the result when it stops. */
  follow(): () => void {
    this.followers++;
    if (this.followers > this.maxHeld) {
      // Long holds would now keep the others waiting: end them; they come back short.
      for (const slot of this.held) if (slot.seconds > SHARED_POLL_SECONDS) slot.controller.abort();
    }
    return () => {
      this.followers--;
    };
  }

  /** A connection now if one is free and nobody is waiting; else the next one, in turn. */
  acquire(signal: AbortSignal): Promise<Grant> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.held.size < this.maxHeld && this.waiting.length === 0) return Promise.resolve(this.grant());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      const take = (grant: Grant) => {
        signal.removeEventListener('abort', onAbort);
        resolve(grant);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  private grant(): Grant {
    const slot: Slot = { controller: new AbortController(), seconds: this.followers > this.maxHeld ? SHARED_POLL_SECONDS : LONG_POLL_SECONDS };
    this.held.add(slot);
    return {
      seconds: slot.seconds,
      signal: slot.controller.signal,
      release: () => {
        if (!this.held.delete(slot)) return;
        // Handed over before the releasing task can ask again: it queues behind the others.
        this.waiting.shift()?.(this.grant());
      },
    };
  }
}
