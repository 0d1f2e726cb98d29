// User metrics: Cog's merge rules for replace / increment / append with
// dotted names (http-protocol.md 10.5). The SDK has already validated names.

import type { Json } from "../schema/mod.ts";

/** How a metric value combines with the previous one (wire spelling). */
export type MetricMode = "replace" | "increment" | "append";

type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Applies one metric to `metrics` in place: dotted names become nested
 * objects; `replace` with null deletes; `increment` adds (missing = 0,
 * non-numeric ignored); `append` pushes (a non-array value is wrapped).
 */
export function mergeMetric(
  metrics: JsonObject,
  name: string,
  value: Json,
  mode: MetricMode,
): void {
  const path = name.split(".");
  const leaf = path.pop()!;
  let parent: JsonObject = metrics;
  for (const segment of path) {
    const next = parent[segment];
    if (!isObject(next)) {
      if (mode === "replace" && value === null) return;
      parent[segment] = {};
    }
    parent = parent[segment] as JsonObject;
  }
  const current = parent[leaf];
  switch (mode) {
    case "replace":
      if (value === null) delete parent[leaf];
      else parent[leaf] = value;
      return;
    case "increment":
      if (typeof value !== "number") return;
      if (current === undefined) parent[leaf] = value;
      else if (typeof current === "number") parent[leaf] = current + value;
      return;
    case "append":
      if (current === undefined) parent[leaf] = [value];
      else if (Array.isArray(current)) current.push(value);
      else parent[leaf] = [current, value];
      return;
  }
}
