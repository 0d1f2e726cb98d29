// One HTTP/1.1 PUT of a file, streamed from disk with a Content-Length.
// fetch() cannot do this: with a stream body it always sends
// `Transfer-Encoding: chunked` (which S3/GCS presigned URLs refuse) and it
// cannot resend a stream body after a 307/308. So uploads speak HTTP/1.1
// themselves over Deno.connect / Deno.connectTls; redirects are the caller's.

/** The head of the answer to a PUT. */
export interface PutResponse {
  status: number;
  headers: Headers;
}

/** Options for {@linkcode putFile}. */
export interface PutFileOptions {
  headers: Record<string, string>;
  signal?: AbortSignal;
}

const CRLF = "\r\n";
const BLOCK = 256 * 1024;

/** PUTs the file at `path` to `url` (http or https) and returns the response head. */
export async function putFile(
  url: URL,
  path: string,
  options: PutFileOptions,
): Promise<PutResponse> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`cannot upload to a ${url.protocol} URL`);
  }
  options.signal?.throwIfAborted();
  const file = await Deno.open(path, { read: true });
  let conn: Deno.Conn | undefined;
  const onAbort = () => {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const size = (await file.stat()).size;
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const https = url.protocol === "https:";
    const port = url.port ? Number(url.port) : https ? 443 : 80;
    conn = https
      ? await Deno.connectTls({ hostname, port })
      : await Deno.connect({ hostname, port });
    if (options.signal?.aborted) throw options.signal.reason;
    const head: string[] = [
      `PUT ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      `Content-Length: ${size}`,
      "Connection: close",
    ];
    for (const [name, value] of Object.entries(options.headers)) {
      if (/[\r\n]/.test(name + value)) throw new TypeError(`invalid header ${name}`);
      if (!/^(host|content-length|connection|transfer-encoding)$/i.test(name)) {
        head.push(`${name}: ${value}`);
      }
    }
    let writeError: unknown = null;
    try {
      await writeAll(conn, new TextEncoder().encode(head.join(CRLF) + CRLF + CRLF));
      const buffer = new Uint8Array(BLOCK);
      let sent = 0;
      while (sent < size) {
        const n = await file.read(buffer);
        if (n === null) break;
        await writeAll(conn, buffer.subarray(0, n));
        sent += n;
      }
      if (sent !== size) throw new Error(`${path} changed size while uploading`);
    } catch (error) {
      // A server may answer (e.g. 403) and close before reading the body: prefer its answer.
      writeError = error;
    }
    try {
      return await readResponseHead(conn);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw writeError ?? error;
    }
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    file.close();
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Reads status line and headers, skipping 1xx interim answers. */
async function readResponseHead(conn: Deno.Conn): Promise<PutResponse> {
  const decoder = new TextDecoder();
  let pending = "";
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    const end = pending.indexOf(CRLF + CRLF);
    if (end !== -1) {
      const [statusLine, ...lines] = pending.slice(0, end).split(CRLF);
      pending = pending.slice(end + 4);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (!match) {
        throw new Error(`malformed HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}`);
      }
      const status = Number(match[1]);
      if (status >= 100 && status < 200) continue;
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      return { status, headers };
    }
    if (pending.length > 64 * 1024) throw new Error("HTTP response head too large");
    const n = await conn.read(buffer);
    if (n === null) throw new Error("connection closed before a response arrived");
    pending += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
}
