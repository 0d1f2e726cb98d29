// A streaming multipart/form-data reader (RFC 7578): yields each part's
// headers, then its bytes as they arrive, so an upload of any size goes to
// disk without being held in memory. The boundary comes from Content-Type or,
// when a client sent "multipart/form-data" without one (the replicate npm
// client sets that header by hand), from the body's first line.

/** Something the reader found, in body order. */
export type MultipartEvent =
  | { type: "part"; name: string; filename: string | null; contentType: string | null }
  | { type: "data"; bytes: Uint8Array };

/** The body is not valid multipart or breaks a limit (`status` is the HTTP answer). */
export class MultipartError extends Error {
  override name = "MultipartError";
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

/** Limits of {@linkcode readMultipart}. */
export interface MultipartOptions {
  /** From the Content-Type `boundary` parameter; null: take it from the body. */
  boundary: string | null;
  /** Most bytes read from the body in all. */
  maxBytes: number;
  /** Most parts (default 16). */
  maxParts?: number;
  /** Largest header block of one part (default 16 KiB). */
  maxHeaderBytes?: number;
}

/** The `boundary` parameter of a multipart Content-Type, or null. */
export function boundaryOf(contentType: string): string | null {
  const match = /;\s*boundary=(?:"([^"]{1,200})"|([^\s;]{1,200}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF = encoder.encode("\r\n");
const HEADERS_END = encoder.encode("\r\n\r\n");

/** Index of `needle` in `haystack` from `from`, or -1 (linear: a delimiter starts with CR). */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  let i = from;
  while (i <= last) {
    i = haystack.indexOf(first, i);
    if (i === -1 || i > last) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i++;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}

function parseHeaders(
  text: string,
): { name: string; filename: string | null; type: string | null } {
  let disposition = "";
  let type: string | null = null;
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") disposition = value;
    else if (key === "content-type") type = value;
  }
  if (!/^form-data\s*(;|$)/i.test(disposition)) {
    throw new MultipartError(400, "A multipart part has no Content-Disposition: form-data header");
  }
  const param = (key: string): string | null => {
    const match = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${key}=([^;\\s]+)`, "i")
      .exec(disposition);
    if (!match) return null;
    return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2];
  };
  const name = param("name");
  if (name === null) throw new MultipartError(400, "A multipart part has no name");
  return { name, filename: param("filename"), type };
}

/**
 * Reads a multipart body. The caller must consume every event before asking
 * for the next (the body is read as the caller goes: backpressure).
 */
export async function* readMultipart(
  body: ReadableStream<Uint8Array>,
  options: MultipartOptions,
): AsyncGenerator<MultipartEvent> {
  const maxParts = options.maxParts ?? 16;
  const maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
  let delimiter: Uint8Array | null = options.boundary === null
    ? null
    : encoder.encode(`\r\n--${options.boundary}`);
  // The body starts as if after a CRLF, so the first delimiter needs no special case.
  let buffer: Uint8Array = CRLF;
  let total = 0;
  let state: "preamble" | "after" | "headers" | "body" | "done" = "preamble";
  let parts = 0;
  const reader = body.getReader();
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return false;
    }
    total += value.length;
    if (total > options.maxBytes) {
      throw new MultipartError(
        413,
        `The request body is larger than the ${options.maxBytes} byte limit`,
      );
    }
    buffer = concat(buffer, value);
    return true;
  };
  try {
    while (state !== "done") {
      if (state === "preamble") {
        if (delimiter === null) {
          // "--boundary\r\n" opens the body.
          const end = indexOf(buffer, CRLF, 2);
          if (end === -1) {
            if (buffer.length > 2 + 2 + 200 + 2) {
              throw new MultipartError(400, "No multipart boundary found");
            }
            if (!(await more())) throw new MultipartError(400, "The multipart body is empty");
            continue;
          }
          const line = decoder.decode(buffer.subarray(2, end)).trimEnd();
          if (!line.startsWith("--") || line.length < 3 || line.length > 202) {
            throw new MultipartError(400, "The multipart body does not start with a boundary line");
          }
          delimiter = encoder.encode(`\r\n${line}`);
        }
        const at = indexOf(buffer, delimiter);
        if (at === -1) {
          // Keep just enough to find a delimiter that straddles two chunks.
          buffer = buffer.slice(Math.max(0, buffer.length - delimiter.length + 1));
          if (!(await more())) throw new MultipartError(400, "No multipart boundary found");
          continue;
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = "after";
      } else if (state === "after") {
        if (buffer.length < 2) {
          if (!(await more())) throw new MultipartError(400, "The multipart body ends early");
          continue;
        }
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) { // "--": the closing delimiter
          state = "done";
          continue;
        }
        // Transport padding (spaces, tabs) may precede the CRLF.
        let i = 0;
        while (i < buffer.length && (buffer[i] === 0x20 || buffer[i] === 0x09)) i++;
        if (i + 2 > buffer.length) {
          if (i > 256) throw new MultipartError(400, "Malformed multipart delimiter line");
          if (!(await more())) throw new MultipartError(400, "The multipart body ends early");
          continue;
        }
        if (buffer[i] !== 0x0d || buffer[i + 1] !== 0x0a) {
          throw new MultipartError(400, "Malformed multipart delimiter line");
        }
        buffer = buffer.subarray(i); // keep the CRLF: the header search starts on it
        state = "headers";
      } else if (state === "headers") {
        const end = indexOf(buffer, HEADERS_END);
        if (end === -1) {
          if (buffer.length > maxHeaderBytes) {
            throw new MultipartError(
              400,
              `A multipart part's headers exceed ${maxHeaderBytes} bytes`,
            );
          }
          if (!(await more())) throw new MultipartError(400, "The multipart body ends early");
          continue;
        }
        if (++parts > maxParts) {
          throw new MultipartError(400, `More than ${maxParts} multipart parts`);
        }
        const headers = parseHeaders(decoder.decode(buffer.subarray(2, end)));
        buffer = buffer.subarray(end + HEADERS_END.length);
        state = "body";
        yield {
          type: "part",
          name: headers.name,
          filename: headers.filename,
          contentType: headers.type,
        };
      } else {
        const at = indexOf(buffer, delimiter!);
        if (at !== -1) {
          if (at > 0) yield { type: "data", bytes: buffer.slice(0, at) };
          buffer = buffer.subarray(at + delimiter!.length);
          state = "after";
          continue;
        }
        const safe = buffer.length - delimiter!.length + 1;
        if (safe > 0) {
          yield { type: "data", bytes: buffer.slice(0, safe) };
          buffer = buffer.slice(safe);
        }
        if (!(await more())) throw new MultipartError(400, "The multipart body ends early");
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
