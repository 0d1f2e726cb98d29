// Test helper: the error a call throws, checked to be of the expected class.
import { fail } from "node:assert/strict";

/** Runs `fn`, expecting it to throw an instance of `type`; returns that error. */
export function caught<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  return fail(`expected ${type.name} to be thrown`);
}

/** Like {@linkcode caught} for async functions. */
export async function caughtAsync<E extends Error>(
  fn: () => Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  return fail(`expected ${type.name} to be thrown`);
}
