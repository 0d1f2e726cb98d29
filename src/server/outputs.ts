// Output resolution: the files a worker reports with an output (by path and
// JSON pointer) become upload URLs, data URLs or on-disk FileValues, put back
// into the output value at their pointers, in order.

import type { Json } from "../schema/mod.ts";
import { FileValue, type OutputValue } from "./file_value.ts";
import { type FileOptions, resolveOutputFile } from "./files.ts";

/** A file inside an output, as the worker reports it. */
export interface OutputFile {
  /** JSON pointer of the file in the output value ("" = the value itself). */
  pointer: string;
  path: string;
  mime: string | null;
}

/** How to resolve one prediction's output files. */
export interface ResolveOptions {
  predictionId: string;
  /** Large inlined files are snapshotted here (the prediction's own directory). */
  keepDir: string;
  files: FileOptions;
  /** Aborts reads and uploads (cancel). */
  signal: AbortSignal;
}

/** The output value with every file replaced by what clients see. */
export async function resolveOutputs(
  value: Json,
  files: readonly OutputFile[],
  options: ResolveOptions,
): Promise<OutputValue> {
  const headers = { "x-prediction-id": options.predictionId };
  let result: OutputValue = value;
  for (const file of files) {
    options.signal.throwIfAborted();
    const resolved = await resolveOutputFile(
      file.path,
      file.mime,
      options.files,
      headers,
      options.signal,
      options.keepDir,
    );
    result = setPointer(result, file.pointer, resolved);
  }
  return result;
}

/** Puts `value` at the JSON pointer `pointer` inside `root` (in place); returns the root. */
export function setPointer(root: OutputValue, pointer: string, value: OutputValue): OutputValue {
  if (pointer === "") return value;
  const parts = pointer.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: OutputValue = root;
  for (let i = 0; i < parts.length - 1; i++) {
    if (!isContainer(node)) return root;
    node = Array.isArray(node) ? node[Number(parts[i])] : node[parts[i]];
  }
  const last = parts[parts.length - 1];
  if (Array.isArray(node)) node[Number(last)] = value;
  else if (isContainer(node)) node[last] = value;
  return root;
}

function isContainer(
  node: OutputValue,
): node is OutputValue[] | { [key: string]: OutputValue } {
  return node !== null && typeof node === "object" && !(node instanceof FileValue);
}
