// Large output files inlined as data URLs without holding them in memory.
// A FileValue stands in the prediction's output for a file snapshot on disk;
// a sync response streams it (base64, chunk by chunk) through jsonStream();
// anything else that stringifies the prediction (webhooks, SSE) gets the
// data URL through toJSON(). The path is always the server's own snapshot
// (files.ts resolveOutputFile checked the model's file and copied at most
// `size` bytes), and no more than `size` bytes of it are ever read.

import type { Json } from "../schema/mod.ts";

/** Outputs at least this large are kept on disk and streamed (smaller ones are inlined at once). */
export const STREAM_THRESHOLD = 1024 * 1024;

/** A file output that serialises as `data:<mime>;base64,...`. */
export class FileValue {
  readonly path: string;
  readonly mime: string;
  readonly size: number;

  constructor(path: string, mime: string, size: number) {
    this.path = path;
    this.mime = mime;
    this.size = size;
  }

  /** The data URL, read from disk (used by JSON.stringify); a marker inside jsonStream(). */
  toJSON(): string {
    if (capturing) {
      capturing.files.push(this);
      return `${capturing.marker}${capturing.files.length - 1}`;
    }
    const bytes = Deno.readFileSync(this.path);
    const data = bytes.length > this.size ? bytes.subarray(0, this.size) : bytes;
    return `data:${this.mime};base64,${data.toBase64()}`;
  }
}

/** An output as the server holds it: JSON, with large inlined files still on disk. */
export type OutputValue =
  | Json
  | FileValue
  | OutputValue[]
  | { [key: string]: OutputValue };

/** True when `value` contains a FileValue anywhere. */
export function hasFileValue(value: unknown): boolean {
  if (value instanceof FileValue) return true;
  if (Array.isArray(value)) return value.some(hasFileValue);
  if (value && typeof value === "object") return Object.values(value).some(hasFileValue);
  return false;
}

/** Set while jsonStream() stringifies: FileValues leave a marker instead of their data. */
let capturing: { files: FileValue[]; marker: string } | null = null;

const encoder = new TextEncoder();
const CHUNK = 3 * 64 * 1024; // a multiple of 3: each chunk is whole base64
const RING = 8;

/**
 * Serialises `value` as JSON into a byte stream; FileValues are read from
 * disk and base64-encoded in chunks as the client reads (backpressure), so
 * memory stays bounded whatever the file size.
 */
export function jsonStream(value: unknown, onDone?: () => void): ReadableStream<Uint8Array> {
  const files: FileValue[] = [];
  const marker = `\u0000cog-file-${crypto.randomUUID()}:`;
  let text: string;
  capturing = { files, marker };
  try {
    text = JSON.stringify(value);
  } finally {
    capturing = null;
  }
  // Split the text around the quoted markers: text, file, text, file, ...
  const parts: (string | FileValue)[] = [];
  const pattern = new RegExp(`"${escapeRegExp(JSON.stringify(marker).slice(1, -1))}(\\d+)"`, "g");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(text.slice(last, match.index));
    parts.push(files[Number(match[1])]);
    last = match.index! + match[0].length;
  }
  parts.push(text.slice(last));

  let index = 0;
  let file: Deno.FsFile | null = null;
  let remaining = 0; // bytes of the current file still to send (its snapshot size)
  const buffer = new Uint8Array(CHUNK);
  // Output chunks come from a small ring: a chunk is reused only RING pulls
  // later, long after the server wrote it to the socket. This keeps garbage
  // (and so RSS) flat instead of growing until V8's external-memory GC kicks in.
  const ring = Array.from({ length: RING }, () => new Uint8Array((CHUNK / 3) * 4));
  let turn = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    try {
      file?.close();
    } catch {
      // already closed
    }
    onDone?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (index < parts.length) {
          const part = parts[index];
          if (typeof part === "string") {
            index++;
            if (part.length > 0) {
              controller.enqueue(encoder.encode(part));
              return;
            }
            continue;
          }
          if (!file) {
            file = await Deno.open(part.path, { read: true });
            remaining = part.size;
            controller.enqueue(encoder.encode(`"data:${part.mime};base64,`));
            return;
          }
          const want = Math.min(CHUNK, remaining);
          let filled = 0;
          while (filled < want) {
            const n = await file.read(buffer.subarray(filled, want));
            if (n === null) break;
            filled += n;
          }
          remaining -= filled;
          if (filled > 0) {
            const out = ring[turn++ % RING];
            const { written } = encoder.encodeInto(buffer.subarray(0, filled).toBase64(), out);
            controller.enqueue(out.subarray(0, written));
          }
          if (filled < CHUNK || remaining === 0) {
            file.close();
            file = null;
            index++;
            controller.enqueue(encoder.encode('"'));
          }
          return;
        }
        controller.close();
        finish();
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel() {
      finish();
    },
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
