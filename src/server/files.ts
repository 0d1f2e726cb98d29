// Files in and out: input URLs (http, https, data) downloaded or decoded into
// a prediction's own directory before predict() runs, and output files turned
// into data URLs or uploaded (streamed from disk) to --upload-url. Output
// paths come from the worker and are read with the server's identity, so only
// regular files outside /proc, /sys and /dev are read, never more than
// maxOutputBytes.

import { deadline, sleep } from "./_deadline.ts";
import { FileValue, STREAM_THRESHOLD } from "./file_value.ts";
import { extensionForMime, mimeForName, OCTET_STREAM } from "./_mime.ts";
import { httpPut } from "./_http_put.ts";
import { NO_PROXY_SETTINGS, proxyFor, type ProxySettings } from "./_proxy.ts";
import { isFileInputUrl } from "../schema/mod.ts";

export { type ProxySettings, proxySettingsFromEnv } from "./_proxy.ts";
export {
  DEFAULT_MAX_OUTPUT_FILE_BYTES,
  openOutputFile,
  type OutputFile,
  OutputFileError,
} from "./output_file.ts";
import {
  copyUpTo,
  DEFAULT_MAX_OUTPUT_FILE_BYTES,
  openOutputFile,
  readUpTo,
} from "./output_file.ts";

/** A bad or unreachable input file (the prediction fails with this message). */
export class InputFileError extends Error {
  override name = "InputFileError";
}

/** An output file could not be uploaded (the prediction fails). */
export class UploadError extends Error {
  override name = "UploadError";
}

/** Limits and identity for downloads and uploads. */
export interface FileOptions {
  /** Base URL for output uploads; outputs become data URLs when unset. */
  uploadUrl?: string;
  /** Time for a whole input download, retries included, ms ($COG_INPUT_DOWNLOAD_TIMEOUT). */
  downloadTimeoutMs: number;
  /** Largest input file, bytes. */
  maxDownloadBytes: number;
  /** Redirects followed per download. */
  maxRedirects: number;
  /** Attempts for a download or upload answered with 5xx or a transport error. */
  attempts: number;
  /** Time for a whole file upload, retries and redirects included, ms ($COG_UPLOAD_TIMEOUT). */
  uploadTimeoutMs: number;
  /** User-Agent for downloads ($COG_USER_AGENT). */
  userAgent?: string;
  /** Largest output file read, bytes (default 10 GiB, COG_MAX_OUTPUT_FILE_BYTES). */
  maxOutputBytes?: number;
  /**
   * Path/File inputs may be local paths (COG_ALLOW_LOCAL_FILE_INPUTS); read by
   * the runtime's input validator. Off: only http(s) and data URLs.
   */
  allowLocalInputs?: boolean;
  /** The fetch to use (tests pass the real one; a seam, not a fake). */
  fetch?: typeof fetch;
  /**
   * HTTP(S)_PROXY / NO_PROXY for uploads (downloads use fetch, which reads the same
   * variables itself). Default: no proxy.
   */
  proxy?: ProxySettings;
  /** Extra trusted CA certificates (PEM) for uploads, e.g. the file named by $DENO_CERT. */
  caCerts?: string[];
}

const URL_SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** True when `value` is a URL the server must fetch or decode (http, https, data). */
export function isFetchableUrl(value: string): boolean {
  return isFileInputUrl(value);
}

/**
 * Checks an input value of a file-typed field: http(s)/data URLs are fetched,
 * any other URL scheme is refused, plain strings pass through (Cog passes them
 * to the model unchanged).
 */
export function checkInputUrl(name: string, value: string): void {
  const match = URL_SCHEME.exec(value);
  if (!match || isFetchableUrl(value)) return;
  // "C:" style or bare words with a colon but no "//" are plain strings in Cog; only refuse real URLs.
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value) && match[1].toLowerCase() !== "file") return;
  throw new InputFileError(
    `${name}: '${
      match[1].toLowerCase()
    }' is not a valid URL scheme. 'data', 'http', or 'https' is supported.`,
  );
}

/**
 * File name Cog gives a downloaded URL (python-sdk.md 1.9 get_filename). A
 * data URL is `file` plus the extension of its media type, unless its media
 * type carries a `name=<percent-encoded file name>` parameter (beyond Cog:
 * what `cog run -i f=@clip.mkv` sends, so the model sees `clip.mkv`).
 */
export function filenameForUrl(url: string, contentType?: string | null): string {
  if (/^data:/i.test(url)) {
    const comma = url.indexOf(",");
    const [mime, ...params] = url.slice(5, comma === -1 ? undefined : comma).split(";");
    const named = dataUrlName(params);
    if (named !== null) return truncateName(named, 200);
    return "file" + (extensionForMime(mime) ?? "");
  }
  let base = "";
  try {
    const path = new URL(url).pathname;
    base = decodeURIComponent(path.slice(path.lastIndexOf("/") + 1).replace(/\+/g, " "));
  } catch {
    base = "";
  }
  base = safeName(base);
  // A name without an extension (e.g. /download?id=3) gets one from Content-Type,
  // so models that dispatch on the suffix still work.
  if (!base.includes(".")) {
    base = (base || "file") + (extensionForMime(contentType?.split(";")[0] ?? "") ?? "");
  }
  return truncateName(base, 200);
}

/** A base name that is one harmless path segment: no NUL, slash, control character or dot-only name. */
function safeName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f/\\]/g, "_").replace(/^\.+$/, "_");
}

/** The `name=` parameter of a data URL's media type, decoded and made safe; null when absent or unusable. */
function dataUrlName(params: string[]): string | null {
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== "name") continue;
    let value: string;
    try {
      value = decodeURIComponent(param.slice(eq + 1));
    } catch {
      return null;
    }
    // Only the last path segment counts: a name cannot pick a directory.
    value = value.slice(Math.max(value.lastIndexOf("/"), value.lastIndexOf("\\")) + 1).trim();
    return value === "" ? null : safeName(value);
  }
  return null;
}

/** The media type parameter that carries a file's name in a data URL (see filenameForUrl). */
export function dataUrlNameParam(name: string): string {
  return `name=${encodeURIComponent(name)}`;
}

function truncateName(name: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length <= maxBytes) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot) : "";
  let stem = dot > 0 ? name.slice(0, dot) : name;
  while (new TextEncoder().encode(stem + "~" + ext).length > maxBytes) stem = stem.slice(0, -1);
  return stem + "~" + ext;
}

/** Decodes an RFC 2397 data URL. */
export function decodeDataUrl(url: string): { mime: string; bytes: Uint8Array } {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma === -1) {
    throw new InputFileError("malformed data URL: expected data:[<mediatype>][;base64],<data>");
  }
  const meta = url.slice(5, comma).split(";");
  const isBase64 = meta.slice(1).some((p) => p.toLowerCase() === "base64");
  const mime = meta[0] || "text/plain";
  const payload = url.slice(comma + 1);
  if (isBase64) {
    let clean: string;
    try {
      clean = decodeURIComponent(payload).replace(/\s+/g, "");
    } catch {
      throw new InputFileError("malformed data URL: invalid percent-encoding");
    }
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean) || clean.replace(/=+$/, "").length % 4 === 1) {
      throw new InputFileError("malformed data URL: the base64 payload is invalid");
    }
    try {
      // The URL-safe alphabet is mapped onto the standard one (mixed input is seen in the wild);
      // the platform decoder accepts missing padding.
      const standard = /[-_]/.test(clean) ? clean.replace(/-/g, "+").replace(/_/g, "/") : clean;
      return { mime, bytes: Uint8Array.fromBase64(standard) };
    } catch {
      throw new InputFileError("malformed data URL: the base64 payload is invalid");
    }
  }
  try {
    return { mime, bytes: new TextEncoder().encode(decodeURIComponent(payload)) };
  } catch {
    throw new InputFileError("malformed data URL: invalid percent-encoding");
  }
}

/**
 * Fetches or decodes one input URL into `dir` (created if needed) and returns
 * the local path; the file keeps the URL's base name.
 */
export async function downloadInput(
  url: string,
  dir: string,
  options: FileOptions,
  signal?: AbortSignal,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  if (url.startsWith("data:")) {
    const { bytes } = decodeDataUrl(url);
    if (bytes.length > options.maxDownloadBytes) {
      throw new InputFileError(
        `data URL is larger than the ${options.maxDownloadBytes} byte limit`,
      );
    }
    const path = `${dir}/${filenameForUrl(url)}`;
    await Deno.writeFile(path, bytes);
    return path;
  }
  const doFetch = options.fetch ?? fetch;
  // One deadline for the whole download: every attempt and the waits between them.
  const limit = deadline(options.downloadTimeoutMs, signal);
  const timedOut = () => `timed out after ${options.downloadTimeoutMs / 1000} s`;
  let lastError = "";
  try {
    for (let attempt = 0; attempt < options.attempts; attempt++) {
      if (signal?.aborted) throw new InputFileError(`download of ${redact(url)} was canceled`);
      if (limit.timedOut) break;
      if (attempt > 0) await sleep(250 * 2 ** (attempt - 1), limit.signal);
      if (limit.signal.aborted) continue;
      let response: Response;
      try {
        response = await fetchFollowing(doFetch, url, options, limit.signal);
      } catch (error) {
        if (error instanceof InputFileError) throw error;
        lastError = limit.timedOut ? timedOut() : errorText(error);
        continue;
      }
      if (response.status >= 500) {
        await response.body?.cancel();
        lastError = `HTTP ${response.status}`;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new InputFileError(`could not download ${redact(url)}: HTTP ${response.status}`);
      }
      const declared = Number(response.headers.get("content-length") ?? "NaN");
      if (declared > options.maxDownloadBytes) {
        await response.body?.cancel();
        throw new InputFileError(
          `${redact(url)} is ${declared} bytes, over the ${options.maxDownloadBytes} byte limit`,
        );
      }
      const path = `${dir}/${
        filenameForUrl(response.url || url, response.headers.get("content-type"))
      }`;
      try {
        await writeLimited(response.body, path, options.maxDownloadBytes, url);
        return path;
      } catch (error) {
        await Deno.remove(path).catch(() => {});
        if (error instanceof InputFileError) throw error;
        lastError = limit.timedOut ? timedOut() : errorText(error);
      }
    }
  } finally {
    limit.clear();
  }
  if (signal?.aborted) throw new InputFileError(`download of ${redact(url)} was canceled`);
  if (limit.timedOut) lastError = timedOut();
  throw new InputFileError(`could not download ${redact(url)}: ${lastError}`);
}

async function fetchFollowing(
  doFetch: typeof fetch,
  url: string,
  options: FileOptions,
  signal: AbortSignal,
): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= options.maxRedirects; hop++) {
    const headers: Record<string, string> = {};
    if (options.userAgent) headers["user-agent"] = options.userAgent;
    const response = await doFetch(current, { headers, signal, redirect: "manual" });
    if (response.status < 300 || response.status >= 400 || !response.headers.get("location")) {
      return response;
    }
    await response.body?.cancel();
    const next = new URL(response.headers.get("location")!, current);
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new InputFileError(
        `${redact(url)} redirects to a ${next.protocol} URL, which is not allowed`,
      );
    }
    current = next.href;
  }
  throw new InputFileError(`${redact(url)}: more than ${options.maxRedirects} redirects`);
}

async function writeLimited(
  body: ReadableStream<Uint8Array> | null,
  path: string,
  limit: number,
  url: string,
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let total = 0;
  try {
    if (!body) return;
    for await (const chunk of body) {
      total += chunk.length;
      if (total > limit) {
        throw new InputFileError(`${redact(url)} is over the ${limit} byte limit`);
      }
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
    }
  } finally {
    file.close();
  }
}

/**
 * A transport error as a readable line: Deno's fetch says only "fetch failed"
 * and keeps the reason (refused, DNS, reset) in `cause`, whose text also holds
 * the full URL, which may carry tokens; that part is cut.
 */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let text = error.message;
  if (error.cause !== undefined) {
    const cause = errorText(error.cause).replace(/ for url \([^)]*\)/, "");
    if (cause && !text.includes(cause)) text = `${text}: ${cause}`;
  }
  return text;
}

/** A URL without its query string or credentials (for messages). */
export function redact(url: string): string {
  if (url.startsWith("data:")) return `data URL (${url.length} characters)`;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return url.slice(0, 100);
  }
}

/**
 * Turns a worker-reported output file into what clients see: an uploaded
 * URL, a data URL, or (large files without --upload-url) a FileValue: a
 * snapshot copied into `keepDir` that is streamed as a data URL later. The
 * path is checked first (openOutputFile); the MIME type comes from the file
 * name (npm `mime`), else the worker's guess.
 */
export async function resolveOutputFile(
  path: string,
  mime: string | null,
  options: FileOptions,
  extraHeaders: Record<string, string>,
  signal?: AbortSignal,
  keepDir?: string,
): Promise<string | FileValue> {
  const byName = mimeForName(path);
  const type = byName !== OCTET_STREAM ? byName : mime ?? OCTET_STREAM;
  const { file, size } = await openOutputFile(
    path,
    options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_FILE_BYTES,
  );
  try {
    if (!options.uploadUrl) {
      if (keepDir && size >= STREAM_THRESHOLD) {
        // A copy, not a link: the model may rewrite the same file in its next prediction.
        await Deno.mkdir(keepDir, { recursive: true });
        const kept = `${keepDir}/${crypto.randomUUID()}`;
        const copied = await copyUpTo(file, size, kept);
        return new FileValue(kept, type, copied);
      }
      return `data:${type};base64,${(await readUpTo(file, size)).toBase64()}`;
    }
  } finally {
    file.close();
  }
  // putFile sends exactly the size it stats (checked above), with a Content-Length.
  return await uploadFile(path, type, options, extraHeaders, signal);
}

/**
 * `PUT <uploadUrl>/<basename>` streaming the file from disk with a
 * Content-Length (never held in memory; node:http, through $HTTP(S)_PROXY when set);
 * 5xx/408/429 and transport errors are retried, redirects followed by PUTting again,
 * all within `uploadTimeoutMs`; aborting `signal` stops it at once. Returns the
 * Location header or the final URL, without its query.
 */
export async function uploadFile(
  path: string,
  mime: string,
  options: FileOptions,
  extraHeaders: Record<string, string>,
  signal?: AbortSignal,
): Promise<string> {
  const base = options.uploadUrl!.endsWith("/") ? options.uploadUrl! : options.uploadUrl! + "/";
  const basename = path.slice(path.lastIndexOf("/") + 1);
  const target = new URL(uploadPathSegment(basename), base);
  const headers: Record<string, string> = { "content-type": mime, ...extraHeaders };
  if (options.userAgent) headers["user-agent"] ??= options.userAgent;
  const put = (url: URL, limit: AbortSignal) =>
    httpPut(url, path, {
      headers,
      signal: limit,
      proxy: proxyFor(url, options.proxy ?? NO_PROXY_SETTINGS),
      caCerts: options.caCerts,
    });
  // One deadline for the whole upload: every attempt, redirect and wait between them.
  const limit = deadline(options.uploadTimeoutMs, signal);
  const timedOut = () => `timed out after ${options.uploadTimeoutMs / 1000} s`;
  let lastError = "";
  try {
    for (let attempt = 0; attempt < options.attempts; attempt++) {
      if (signal?.aborted) throw new UploadError(`upload of ${basename} was canceled`);
      if (limit.timedOut) break;
      if (attempt > 0) await sleep(250 * 2 ** (attempt - 1), limit.signal);
      if (limit.signal.aborted) continue;
      try {
        let current = target;
        let response = await put(current, limit.signal);
        for (let hop = 0; isRedirect(response.status) && response.headers.has("location"); hop++) {
          if (hop >= options.maxRedirects) {
            throw new Error(`more than ${options.maxRedirects} redirects`);
          }
          current = new URL(response.headers.get("location")!, current);
          response = await put(current, limit.signal);
        }
        if (response.status >= 200 && response.status < 300) {
          const location = response.headers.get("location");
          const url = new URL(location ?? current.href, current);
          url.search = "";
          return url.href;
        }
        lastError = `HTTP ${response.status}`;
        if (response.status < 500 && response.status !== 429 && response.status !== 408) break;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new UploadError(`output file ${path} does not exist`);
        }
        lastError = limit.timedOut ? timedOut() : signal?.aborted ? "canceled" : errorText(error);
        if (signal?.aborted) break;
      }
    }
  } finally {
    limit.clear();
  }
  if (limit.timedOut) lastError = timedOut();
  throw new UploadError(`upload of ${basename} to ${redact(target.href)} failed: ${lastError}`);
}

/**
 * A file's base name as one URL path segment under the upload URL: percent-
 * encoded, and never a dot segment ("." / ".." or their %2E forms would
 * climb out of the upload path) nor empty.
 */
export function uploadPathSegment(basename: string): string {
  // encodeURIComponent keeps "." as is, so only the literal dot segments remain to refuse.
  const encoded = encodeURIComponent(basename);
  if (encoded === "") return "file";
  return encoded === "." || encoded === ".." ? `_${encoded}` : encoded;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
