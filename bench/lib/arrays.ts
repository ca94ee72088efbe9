/** Splits `items` into consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const slices: T[][] = [];
  for (let start = 0; start < items.length; start += size) slices.push(items.slice(start, start + size));
  return slices;
}

/** Splits `items` into `parts` consecutive slices of near-equal length (none empty unless items is). */
export function splitEvenly<T>(items: readonly T[], parts: number): T[][] {
  return chunk(items, Math.ceil(items.length / Math.max(1, parts)));
}
