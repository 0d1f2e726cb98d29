// Turns a YAML document into plain data plus a map from field path to source line,
// keeping the source text of version-like scalars (python_version: 3.10 stays "3.10").
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";

/** Plain data and where each path (e.g. `build.run[1].command`) starts. */
export interface ParsedYaml {
  data: unknown;
  lines: Map<string, number>;
}

/** A YAML syntax error with its line. */
export interface YamlSyntaxError {
  line?: number;
  message: string;
}

/** Scalars read as their source text, as Go's YAML decoder does for string fields. */
const RAW_TEXT_PATHS = new Set([
  "build.python_version",
  "build.cuda",
  "build.cudnn",
  "build.sdk_version",
]);

/** Joins a path the way messages print it: `build.run[1].command`. */
export function joinPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

/** Parses YAML text; returns either the data or the first syntax error. */
export function parseYaml(text: string): ParsedYaml | YamlSyntaxError {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
    return { line, message: err.message.split("\n")[0] };
  }
  const lines = new Map<string, number>();
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;

  function walk(node: unknown, path: (string | number)[]): unknown {
    const key = joinPath(path);
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childPath = [...path, k];
        const keyLine = lineOf(pair.key as Node);
        if (keyLine !== undefined) lines.set(joinPath(childPath), keyLine);
        out[k] = walk(pair.value, childPath);
      }
      return out;
    }
    if (isSeq(node)) {
      return node.items.map((item, i) => {
        const l = lineOf(item as Node);
        if (l !== undefined) lines.set(joinPath([...path, i]), l);
        return walk(item, [...path, i]);
      });
    }
    if (isScalar(node)) {
      if (RAW_TEXT_PATHS.has(key) && node.value !== null && typeof node.value !== "string") {
        return node.source ?? String(node.value);
      }
      return node.value;
    }
    return node ?? null;
  }

  const data = walk(doc.contents, []);
  return { data, lines };
}
