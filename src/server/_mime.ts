// MIME types by file name and back (data URLs, uploads, downloaded file names,
// `cog run` output names). The database is npm `mime` (IANA + Apache + nginx
// types, ~1 000 extensions); Cog's own table (cli-predict.md 4.7) wins where it
// picks another extension or knows a type the database lacks.

import mime from "mime";

/** Cog's choices where `mime` differs or has nothing (type -> extension). */
const COG_EXTENSION: Readonly<Record<string, string>> = {
  "application/jsonl": "jsonl",
  "application/x-ndjson": "ndjson",
  "application/x-cdf": "cda",
  "audio/aac": "aac",
  "audio/flac": "flac",
  "audio/mpeg": "mp3",
  "audio/opus": "opus",
  "image/tiff": "tiff",
  "video/3gpp2": "3gp2",
  // Python's mimetypes (the worker's guess) says .mov, not .qt
  "video/quicktime": "mov",
};

/** Extension -> type where Cog's table (or IANA) differs from `mime`. */
const COG_TYPE: Readonly<Record<string, string>> = {
  jsonl: "application/jsonl",
  ndjson: "application/x-ndjson",
  cda: "application/x-cdf",
  flac: "audio/flac",
  opus: "audio/opus",
  "3gp2": "video/3gpp2",
};

/** The type of unknown bytes. */
export const OCTET_STREAM = "application/octet-stream";

/** MIME type for a file name (only its extension counts); application/octet-stream when unknown. */
export function mimeForName(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot === -1) return OCTET_STREAM;
  const ext = base.slice(dot + 1).toLowerCase();
  return COG_TYPE[ext] ?? mime.getType(ext) ?? OCTET_STREAM;
}

/** Extension (with the dot) for a MIME type (parameters ignored), or null when unknown. */
export function extensionForMime(type: string): string | null {
  const key = type.split(";")[0].trim().toLowerCase();
  if (key === "") return null;
  const ext = COG_EXTENSION[key] ?? mime.getExtension(key);
  return ext ? `.${ext}` : null;
}
