// Files uploaded through the Replicate-style files API (POST /v1/files):
// written to the server's own directory under random ids, bounded (count,
// bytes, age; the oldest go first), and resolved in process when a
// prediction input names one of their URLs, so a client that uploads a file
// and passes its URL costs no network round trip. Only ids this store created
// resolve: a URL is never mapped to any other path on the host.

import { createHash, type Hash } from "node:crypto";
import type { Json } from "../schema/mod.ts";

/** One uploaded file. */
export interface Upload {
  id: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  md5: string;
  metadata: Json;
  createdAt: Date;
  expiresAt: Date;
  /** The origin the upload's URLs were given out under (http://host:port). */
  origin: string;
  /** Where the bytes are (inside the store's directory). */
  path: string;
}

/** Limits of an {@linkcode UploadStore}. */
export interface UploadStoreOptions {
  /** Directory for the files (created on first use; removed with the server's temp dir). */
  dir: string;
  /** Largest file, bytes. */
  maxFileBytes: number;
  /** Most files kept (the oldest go first). */
  maxFiles: number;
  /** Most bytes kept in all (the oldest go first). */
  maxTotalBytes: number;
  /** How long a file is kept, ms. */
  ttlMs: number;
  now?: () => number;
}

/** The files API refused an upload (too large, ...); `status` is the HTTP answer. */
export class UploadError extends Error {
  override name = "UploadError";
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

/** An upload being written; `finish` or `abort` ends it (both safe to call twice). */
export interface UploadWriter {
  write(bytes: Uint8Array): Promise<void>;
  finish(info: { name: string; contentType: string; metadata: Json; origin: string }): Upload;
  abort(): void;
}

/** The path of an upload's URL: /v1/files/{id} or /v1/files/{id}/download. */
const UPLOAD_PATH = /^\/v1\/files\/([a-z2-7]{26})(?:\/download)?$/;

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** 128 random bits as 26 lowercase base32 characters (Replicate's id alphabet). */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(17));
  let bits = 0;
  let value = 0;
  let id = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && id.length < 26) {
      id += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return id;
}

/** The uploaded files of one server. */
export class UploadStore {
  #options: UploadStoreOptions;
  /** Insertion order: the first is the oldest. */
  #uploads = new Map<string, Upload>();
  #totalBytes = 0;
  #dirReady: Promise<void> | null = null;

  constructor(options: UploadStoreOptions) {
    this.#options = options;
  }

  #now(): number {
    return this.#options.now ? this.#options.now() : Date.now();
  }

  /** Starts an upload: bytes go to disk as they come, hashed on the way. */
  async begin(): Promise<UploadWriter> {
    this.#dirReady ??= Deno.mkdir(this.#options.dir, { recursive: true });
    await this.#dirReady;
    const id = randomId();
    const path = `${this.#options.dir}/${id}`;
    const file = await Deno.open(path, { write: true, createNew: true });
    const sha256: Hash = createHash("sha256");
    const md5: Hash = createHash("md5");
    let size = 0;
    let state: "open" | "finished" | "aborted" = "open";
    const close = () => {
      try {
        file.close();
      } catch {
        // already closed
      }
    };
    const abort = () => {
      if (state !== "open") return;
      state = "aborted";
      close();
      Deno.remove(path).catch(() => {});
    };
    return {
      write: async (bytes) => {
        if (state !== "open") throw new Error("the upload already ended");
        size += bytes.length;
        if (size > this.#options.maxFileBytes) {
          abort();
          throw new UploadError(
            413,
            `The file is larger than the ${this.#options.maxFileBytes} byte limit`,
          );
        }
        sha256.update(bytes);
        md5.update(bytes);
        let written = 0;
        try {
          while (written < bytes.length) written += await file.write(bytes.subarray(written));
        } catch (error) {
          abort();
          throw error;
        }
      },
      finish: (info) => {
        if (state !== "open") throw new Error("the upload already ended");
        state = "finished";
        close();
        const now = this.#now();
        const upload: Upload = {
          id,
          name: info.name,
          contentType: info.contentType,
          size,
          sha256: sha256.digest("hex"),
          md5: md5.digest("hex"),
          metadata: info.metadata,
          createdAt: new Date(now),
          expiresAt: new Date(now + this.#options.ttlMs),
          origin: info.origin,
          path,
        };
        this.#uploads.set(id, upload);
        this.#totalBytes += size;
        this.#sweep();
        return upload;
      },
      abort,
    };
  }

  /** The upload with this id, unless unknown, deleted or expired. */
  get(id: string): Upload | undefined {
    const upload = this.#uploads.get(id);
    if (upload && upload.expiresAt.getTime() <= this.#now()) {
      this.delete(id);
      return undefined;
    }
    return upload;
  }

  /** All live uploads, newest first. */
  list(): Upload[] {
    this.#sweep();
    return [...this.#uploads.values()].reverse();
  }

  /** Removes an upload; false when unknown. */
  delete(id: string): boolean {
    const upload = this.#uploads.get(id);
    if (!upload) return false;
    this.#uploads.delete(id);
    this.#totalBytes -= upload.size;
    // An input download that already opened the file keeps reading it.
    Deno.remove(upload.path).catch(() => {});
    return true;
  }

  /** Drops expired uploads, then the oldest until the limits hold. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, upload] of this.#uploads) {
      if (upload.expiresAt.getTime() <= now) this.delete(id);
    }
    while (
      this.#uploads.size > this.#options.maxFiles ||
      (this.#totalBytes > this.#options.maxTotalBytes && this.#uploads.size > 1)
    ) {
      this.delete(this.#uploads.keys().next().value!);
    }
  }

  /** The upload a URL names (its origin and path), if this store gave it out. */
  resolve(url: string): Upload | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    const match = UPLOAD_PATH.exec(parsed.pathname);
    if (!match || parsed.search) return undefined;
    const upload = this.get(match[1]);
    return upload && upload.origin === parsed.origin ? upload : undefined;
  }

  /**
   * A fetch that answers URLs of this store's uploads from disk and passes
   * every other request to `base` (the input downloader's seam).
   */
  fetchThrough(base: typeof fetch = fetch): typeof fetch {
    return (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const method = (init?.method ?? (input instanceof Request ? input.method : "GET"))
        .toUpperCase();
      const upload = method === "GET" ? this.resolve(url) : undefined;
      if (!upload) return base(input, init);
      return this.open(upload);
    };
  }

  /** A 200 response with the upload's bytes (404 if it went away meanwhile). */
  async open(upload: Upload): Promise<Response> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(upload.path, { read: true });
    } catch {
      return new Response("Not found", { status: 404 });
    }
    return new Response(file.readable, {
      status: 200,
      headers: {
        "content-type": upload.contentType,
        "content-length": String(upload.size),
        "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(upload.name)}`,
      },
    });
  }
}
