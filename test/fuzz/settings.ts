/**
 * How long the fuzzing properties run. Inside `npm test`: a fixed seed, few cases, and a time
 * bound per property, so the file stays within seconds. `npm run fuzz` (FUZZ_LONG=1): a
 * random seed unless FUZZ_SEED names one, FUZZ_RUNS cases per property (default 5,000), no
 * time bound; the seed is printed first, so that a failure can be replayed with
 * `FUZZ_SEED=<seed> npm run fuzz`.
 */
export interface FuzzSettings {
  long: boolean;
  seed: number;
  /** Cases per property. */
  numRuns: number;
  /** Per property; the run stops (without failing) once it is spent. Undefined: no bound. */
  timeLimitMs: number | undefined;
  /** For vitest: long enough for every case of the property. */
  testTimeoutMs: number;
}

/** The short run's seed: any fixed value; changed only on purpose. */
const SHORT_RUN_SEED = 19;

export function fuzzSettings(env: Record<string, string | undefined> = process.env): FuzzSettings {
  const long = env.FUZZ_LONG === '1' || env.FUZZ_RUNS !== undefined;
  const seed = env.FUZZ_SEED !== undefined ? Number(env.FUZZ_SEED) : long ? Math.floor(Math.random() * 2 ** 31) : SHORT_RUN_SEED;
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer; got "${env.FUZZ_SEED}".`);
  const numRuns = long ? Number(env.FUZZ_RUNS ?? 5_000) : 120;
  if (!Number.isInteger(numRuns) || numRuns < 1) throw new Error(`FUZZ_RUNS must be a positive integer; got "${env.FUZZ_RUNS}".`);
  return {
    long,
    seed,
    numRuns,
    timeLimitMs: long ? undefined : 3_000,
    testTimeoutMs: long ? 24 * 3_600_000 : 15_000,
  };
}
