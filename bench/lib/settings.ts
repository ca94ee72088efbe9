/** Sizes and durations of one run; `--quick` shrinks them to finish in under two minutes. */
export interface Settings {
  quick: boolean;
  /** A/B rounds per comparison (each round measures ours, then its baseline). */
  rounds: number;
  /** Length of one closed-loop HTTP measurement, in s. */
  httpSeconds: number;
  /** Length of one in-process repository measurement, in s. */
  repositorySeconds: number;
  /** Unmeasured load before the rounds, in s, so both sides are warm (JIT, caches); 0 skips it. */
  warmupSeconds: number;
  /** autocannon connections. */
  connections: number;
  /** Held long-polls in the wake scenario. */
  waiters: number;
  /** Held long-polls in the polling comparison. */
  pollingWaiters: number;
  /** Completions (and progress events) per second. */
  eventsPerSecond: number;
  /** Progress events per round in the BullMQ comparison. */
  progressEvents: number;
  /** Held long-polls and subscribers for memory and idle CPU. */
  idlePopulation: number;
  /** Idle CPU window after settling, and the slices it is cut into, in s. */
  idleWindowSeconds: number;
  idleSliceSeconds: number;
  /** Idle window of each polling-comparison round, in s. */
  pollingIdleSeconds: number;
  /** Subscriber counts for fan-out. */
  fanoutSizes: number[];
  /** Tasks in the large table for growth (the small one has 1,000). */
  growthRows: number;
  /** Held long-polls per growth wake round. */
  growthWaiters: number;
  /** Held long-polls per scale wake round, spread over the instances (`scaleWaitersPerTask` per task). */
  scaleWaiters: number;
  /** Long-polls per completed task in the scale scenario: a multiple of 1, 2 and 3, so each instance count splits them evenly. */
  scaleWaitersPerTask: number;
  /**
   * Completions per second in the scale scenario's wake rounds: well below what one instance
   * on PostgreSQL commits on this shared 2-core machine (some 300–600/s: at 250/s and more,
   * completions queued for up to seconds), so the latencies are those of a wake, not of a
   * write backlog. The scenario's write bursts measure that capacity.
   */
  scaleEventsPerSecond: number;
  /** Completions sent all at once per scale round, to measure how many per second one instance commits. */
  scaleBurst: number;
  /** Length of the soak's load, in s. */
  soakSeconds: number;
  /** When the soak's warm-up ends: the RSS there is what the rest of the load is compared with, in s from the start of the load. */
  soakReferenceSeconds: number;
  /** The soak's memory figures are also summarized per window of this length (min, median, max), in s. */
  soakWindowSeconds: number;
  /** How long each of the soak's vanishing client processes holds its long-polls and subscriptions before it is SIGKILLed, in s. */
  soakHolderSeconds: number;
}

export function settingsFor(quick: boolean): Settings {
  return quick
    ? {
        quick,
        rounds: 2,
        httpSeconds: 1,
        repositorySeconds: 0.5,
        warmupSeconds: 0,
        connections: 10,
        waiters: 2_000,
        pollingWaiters: 1_000,
        eventsPerSecond: 1_000,
        progressEvents: 500,
        idlePopulation: 2_000,
        idleWindowSeconds: 2,
        idleSliceSeconds: 1,
        pollingIdleSeconds: 0.5,
        fanoutSizes: [1_000],
        growthRows: 10_000,
        growthWaiters: 100,
        scaleWaiters: 1_200,
        scaleWaitersPerTask: 6,
        scaleEventsPerSecond: 100,
        scaleBurst: 500,
        soakSeconds: 60,
        soakReferenceSeconds: 20,
        soakWindowSeconds: 10,
        soakHolderSeconds: 10,
      }
    : {
        quick,
        rounds: 5,
        httpSeconds: 5,
        repositorySeconds: 3,
        warmupSeconds: 3,
        connections: 10,
        waiters: 10_000,
        pollingWaiters: 10_000,
        eventsPerSecond: 1_000,
        progressEvents: 3_000,
        idlePopulation: 10_000,
        idleWindowSeconds: 30,
        idleSliceSeconds: 5,
        pollingIdleSeconds: 3,
        fanoutSizes: [1_000, 10_000],
        growthRows: 1_000_000,
        growthWaiters: 100,
        scaleWaiters: 2_400,
        scaleWaitersPerTask: 6,
        scaleEventsPerSecond: 100,
        scaleBurst: 1_000,
        soakSeconds: 600,
        soakReferenceSeconds: 120,
        soakWindowSeconds: 60,
        soakHolderSeconds: 30,
      };
}

/** Long-polls or sockets per load process: ~15,000 fds each at most, with room to spare. */
export const SOCKETS_PER_LOAD_PROCESS = 5_000;

/** Load processes needed for `count` sockets. */
export const loadProcessesFor = (count: number): number => Math.max(1, Math.ceil(count / SOCKETS_PER_LOAD_PROCESS));

/** What `--quick` shrinks, as "name: quick instead of full" lines for the report. */
export function quickReductions(): string[] {
  const [quick, full] = [settingsFor(true), settingsFor(false)];
  const show = (value: unknown): string => {
    if (Array.isArray(value)) return value.map(show).join(' and ');
    return typeof value === 'number' ? value.toLocaleString('en-US') : String(value);
  };
  return (Object.keys(full) as (keyof Settings)[])
    .filter((key) => key !== 'quick' && show(quick[key]) !== show(full[key]))
    .map((key) => `${key} ${show(quick[key])} instead of ${show(full[key])}`);
}
