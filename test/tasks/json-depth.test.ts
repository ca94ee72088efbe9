/** How deep a client's JSON value nests, measured without recursion (JSON.stringify recurses). */
import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../../src/tasks/json-depth.js';

/** `levels` arrays (or objects) nested in one another around `inner`. */
function nested(levels: number, kind: 'array' | 'object' = 'array', inner: unknown = 1): unknown {
  let value = inner;
  for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { v: value };
  return value;
}

describe('jsonDepthExceeds', () => {
  it('a scalar has no depth; [] and {} are one level', () => {
    for (const scalar of [null, 1, 'text', true]) expect(jsonDepthExceeds(scalar, 0)).toBe(false);
    expect(jsonDepthExceeds([], 0)).toBe(true);
    expect(jsonDepthExceeds({}, 0)).toBe(true);
    expect(jsonDepthExceeds([], 1)).toBe(false);
    expect(jsonDepthExceeds([[1]], 1)).toBe(true);
    expect(jsonDepthExceeds([[1]], 2)).toBe(false);
  });

  it(`takes ${MAX_JSON_DEPTH} levels by default, of arrays, objects or both, and not one more`, () => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH, 'object'))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1, 'object'))).toBe(true);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH / 2, 'object', nested(MAX_JSON_DEPTH / 2 + 1)))).toBe(true);
  });

  it('finds the deep branch among shallow siblings', () => {
    expect(jsonDepthExceeds({ a: 1, b: [2, 3], c: { d: nested(3) } }, 4)).toBe(true);
    expect(jsonDepthExceeds({ a: 1, b: [2, 3], c: { d: nested(2) } }, 4)).toBe(false);
    expect(jsonDepthExceeds([1, 'x', [nested(3)], null], 4)).toBe(true);
  });

  it('measures a value nested 100,000 levels without overflowing the stack', () => {
    expect(jsonDepthExceeds(nested(100_000))).toBe(true);
  });

  it('ends on a value that contains itself (past the limit, not in a loop)', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(jsonDepthExceeds(cyclic)).toBe(true);
  });
});
