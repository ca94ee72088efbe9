/** The middle and the extremes of a set of measurements (one per round, or per sample). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** How many values it summarizes. */
  n: number;
}

function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).filter((value) => !Number.isNaN(value)).sort();
}

/** The `p`-th percentile (0–100) by linear interpolation between closest ranks; NaN when empty. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const ordered = sorted(values);
  if (ordered.length === 0) return NaN;
  const rank = (p / 100) * (ordered.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, ordered.length - 1);
  return ordered[below]! + (ordered[above]! - ordered[below]!) * (rank - below);
}

export const median = (values: ArrayLike<number>): number => percentile(values, 50);

export function summarize(values: ArrayLike<number>): Summary {
  const ordered = sorted(values);
  return {
    median: percentile(ordered, 50),
    min: ordered.length > 0 ? ordered[0]! : NaN,
    max: ordered.length > 0 ? ordered[ordered.length - 1]! : NaN,
    n: ordered.length,
  };
}

/** Element-wise `ours[i] / baseline[i]`: the ratio within each round of an interleaved run. */
export function pairedRatios(ours: readonly number[], baseline: readonly number[]): number[] {
  return ours.map((value, i) => value / baseline[i]!);
}

/** The largest value, or NaN when empty (no spread into Math.max, so it takes any length). */
export function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return values.length === 0 ? NaN : max;
}

/** The smallest value, or NaN when empty. */
export function minOf(values: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! < min) min = values[i]!;
  return values.length === 0 ? NaN : min;
}

/** Cumulative bucket counts (upper bound `le`, ascending, the last one +Inf) as Prometheus exposes a histogram. */
export interface Buckets {
  buckets: readonly { le: number; count: number }[];
  sum: number;
  count: number;
}

/** What was observed between two scrapes of the same histogram. */
export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  return {
    buckets: after.buckets.map(({ le, count }, i) => ({ le, count: count - (before.buckets[i]?.count ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The `p`-th percentile of a histogram, interpolated linearly inside its bucket as
 * Prometheus's histogram_quantile does (so only as fine as the buckets); NaN when empty.
 */
export function bucketPercentile({ buckets, count }: Buckets, p: number): number {
  if (count === 0) return NaN;
  const rank = (p / 100) * count;
  let lower = 0;
  let below = 0;
  for (const { le, count: cumulative } of buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le)) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(cumulative - below, 1);
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}
