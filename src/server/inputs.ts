// Input staging: the URL inputs of file-typed fields are downloaded (or
// decoded) into the prediction's own directory before the worker sees the
// prediction; the worker gets local paths instead.

import type { Json } from "../schema/mod.ts";
import {
  checkInputUrl,
  downloadInput,
  type FileOptions,
  InputFileError,
  isFetchableUrl,
} from "./files.ts";

/** A file-typed input field (from the signature). */
export interface FileField {
  name: string;
}

/** Downloads run at most this many at a time per prediction. */
const PARALLEL_DOWNLOADS = 8;

/** Where and how to stage one prediction's inputs. */
export interface StageOptions {
  /** The prediction's directory; downloads go to `<dir>/in/<n>/`. */
  dir: string;
  files: FileOptions;
  /** The signal that aborts every download (cancel); asked for only when there is one. */
  signal: () => AbortSignal;
}

/**
 * The input the worker receives, with file URLs replaced by local paths.
 * Returns null when no field needs a download (the input goes as it is,
 * without a promise hop); throws InputFileError at once for a refused URL.
 */
export function stageInputs(
  input: Record<string, Json>,
  fields: readonly FileField[],
  options: StageOptions,
): Promise<Record<string, Json>> | null {
  if (fields.length === 0) return null;
  const staged: Record<string, Json> = { ...input };
  const jobs: (() => Promise<void>)[] = [];
  const fetchOne = (name: string, url: string, set: (path: string) => void) => {
    checkInputUrl(name, url);
    if (!isFetchableUrl(url)) return;
    const dir = `${options.dir}/in/${jobs.length}`;
    jobs.push(() =>
      downloadInput(url, dir, options.files, options.signal()).then(set, (error) => {
        if (error instanceof InputFileError) throw new InputFileError(`${name}: ${error.message}`);
        throw error;
      })
    );
  };
  for (const field of fields) {
    const value = staged[field.name];
    if (typeof value === "string") {
      fetchOne(field.name, value, (path) => staged[field.name] = path);
    } else if (Array.isArray(value)) {
      const list = [...value];
      staged[field.name] = list;
      list.forEach((item, i) => {
        if (typeof item === "string") {
          fetchOne(`${field.name}[${i}]`, item, (path) => list[i] = path);
        }
      });
    }
  }
  if (jobs.length === 0) return null;
  return runLimited(jobs, PARALLEL_DOWNLOADS).then(() => staged);
}

/** Runs jobs at most `limit` at a time; all settle, then the first error is thrown. */
async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let firstError: unknown = null;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      try {
        await job();
      } catch (error) {
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  if (firstError !== null) throw firstError;
}
