// Assertions for the tests (node:assert/strict; @std/assert is on JSR, which
// is not reachable from our machines).

import assertStrict from "node:assert/strict";

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  assertStrict.ok(value, message);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assertStrict.deepStrictEqual(actual, expected, message);
}

/** Fails unless `actual` matches `pattern`. */
export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  assertStrict.match(actual, pattern, message);
}

/** Fails unless `fn` rejects (optionally with a message matching `pattern`). */
export async function assertRejects(fn: () => Promise<unknown>, pattern?: RegExp): Promise<void> {
  if (pattern) await assertStrict.rejects(fn, pattern);
  else await assertStrict.rejects(fn);
}

/** Fails unless `fn` throws (optionally with a message matching `pattern`). */
export function assertThrows(fn: () => unknown, pattern?: RegExp): void {
  if (pattern) assertStrict.throws(fn, pattern);
  else assertStrict.throws(fn);
}
