/**
 * How deep a JSON value a client may send (a task's `input` or `result`, GraphQL variables
 * and extensions): arrays and objects nested at most this many levels.
 * `JSON.stringify` recurses, and overflows the stack near 4,000 levels; everything that
 * takes a client's JSON measures it with `jsonDepthExceeds` first, which does not recurse.
 * `[]` and `{}` are one level, `[[1]]` two; a string or number none.
 * @default 64 // levels
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests arrays or objects more than `maxDepth` levels. Iterative (an
 * explicit stack), so it cannot overflow however deep the value; it stops at the first
 * container past the limit, so a cycle cannot make it loop.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  if (!isContainer(value)) return false;
  const pending: { value: object; depth: number }[] = [{ value, depth: 1 }];
  while (pending.length > 0) {
    const { value: container, depth } = pending.pop()!;
    if (depth > maxDepth) return true;
    const children = Array.isArray(container) ? container : Object.values(container);
    for (const child of children) if (isContainer(child)) pending.push({ value: child, depth: depth + 1 });
  }
  return false;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
