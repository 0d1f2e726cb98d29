// Cog's metric merge rules (http-protocol.md 10.5).

import { assertEquals } from "../_assert.ts";
import { mergeMetric } from "../../src/server/metrics.ts";

Deno.test("dotted metric names become nested objects", () => {
  const m = {};
  mergeMetric(m as never, "timing.preprocess", 0.1, "replace");
  mergeMetric(m as never, "timing.infer", 0.2, "replace");
  assertEquals(m, { timing: { preprocess: 0.1, infer: 0.2 } });
});

Deno.test("replace with null deletes, increment adds and starts at zero, append wraps", () => {
  const m: Record<string, unknown> = {};
  mergeMetric(m as never, "a", 1, "replace");
  mergeMetric(m as never, "a", null, "replace");
  mergeMetric(m as never, "n", 2, "increment");
  mergeMetric(m as never, "n", 3, "increment");
  mergeMetric(m as never, "n", "x", "increment");
  mergeMetric(m as never, "l", 1, "append");
  mergeMetric(m as never, "l", 2, "append");
  mergeMetric(m as never, "s", "one", "replace");
  mergeMetric(m as never, "s", "two", "append");
  assertEquals(m, { n: 5, l: [1, 2], s: ["one", "two"] });
});
