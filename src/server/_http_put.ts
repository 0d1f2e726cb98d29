// One PUT of a file, streamed from disk with a Content-Length, through node:http /
// node:https (fetch() sends a streamed body chunked, which presigned S3/GCS URLs refuse).
// Goes through an HTTP proxy when asked (absolute-form for http://, a CONNECT tunnel for
// https://); extra CA certificates are trusted on top of the usual roots. Redirects,
// retries and timeouts are the caller's; aborting `signal` tears the request down at once.

import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import type { Duplex } from "node:stream";

/** The head of the answer to a PUT. */
export interface PutResponse {
  status: number;
  headers: Headers;
}

/** Options for {@linkcode httpPut}. */
export interface HttpPutOptions {
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** Proxy to go through (see proxyFor), or null/undefined to connect directly. */
  proxy?: URL | null;
  /** PEM certificates trusted in addition to the built-in roots (e.g. from $DENO_CERT). */
  caCerts?: string[];
}

const RESERVED = /^(host|content-length|connection|transfer-encoding)$/i;

/** PUTs the file at `path` to `url` (http or https) and returns the response head. */
export async function httpPut(
  url: URL,
  path: string,
  options: HttpPutOptions,
): Promise<PutResponse> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`cannot upload to a ${url.protocol} URL`);
  }
  const { signal } = options;
  signal?.throwIfAborted();
  const size = (await Deno.stat(path)).size;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) {
    if (/[\r\n]/.test(name + value)) throw new TypeError(`invalid header ${name}`);
    if (!RESERVED.test(name)) headers[name] = value;
  }
  headers["content-length"] = String(size);
  headers.host = url.host;
  const ca = options.caCerts?.length ? [...tls.rootCertificates, ...options.caCerts] : undefined;
  const secure = url.protocol === "https:";
  const proxy = options.proxy ?? null;

  let request: http.ClientRequest;
  if (proxy && !secure) {
    // Plain http through a proxy: the absolute URL in the request line.
    request = moduleFor(proxy).request({
      host: bareHost(proxy),
      port: portOf(proxy),
      method: "PUT",
      path: url.href,
      headers: { ...headers, ...proxyAuthorization(proxy) },
      agent: false,
      ca,
      signal,
    });
  } else if (proxy) {
    const socket = await tunnel(proxy, url, { ca, signal });
    request = https.request({
      host: bareHost(url),
      port: portOf(url),
      method: "PUT",
      path: url.pathname + url.search,
      headers,
      agent: false,
      ca,
      signal,
      createConnection: () =>
        tls.connect({
          socket,
          host: bareHost(url),
          servername: serverName(url),
          ca,
        }) as unknown as Duplex,
    } as https.RequestOptions);
  } else {
    request = moduleFor(url).request({
      host: bareHost(url),
      port: portOf(url),
      method: "PUT",
      path: url.pathname + url.search,
      headers,
      agent: false,
      ca,
      signal,
    });
  }
  return await send(request, path, size);
}

const BLOCK = 256 * 1024;

/**
 * Streams the file into the request through one reused buffer (each write's callback
 * is awaited before the buffer is refilled: backpressure, and no garbage per chunk, so
 * memory stays flat whatever the size); resolves with the response head.
 */
function send(request: http.ClientRequest, path: string, size: number): Promise<PutResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      request.destroy();
      reject(error);
    };
    request.on("error", fail);
    request.on("response", (response: http.IncomingMessage) => {
      // A receiver may answer (e.g. 403) before it read the body: its answer wins.
      if (settled) return;
      settled = true;
      response.resume();
      response.on("error", () => {});
      const headers = new Headers();
      for (const [name, value] of Object.entries(response.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      resolve({ status: response.statusCode ?? 0, headers });
    });
    const write = (chunk: Uint8Array) =>
      new Promise<void>((done, failed) =>
        request.write(chunk, (error) => (error ? failed(error) : done()))
      );
    (async () => {
      using file = await Deno.open(path, { read: true });
      const buffer = new Uint8Array(Math.min(BLOCK, Math.max(size, 1)));
      let sent = 0;
      while (sent < size && !settled) {
        const n = await file.read(buffer.subarray(0, Math.min(buffer.length, size - sent)));
        if (n === null) throw new Error(`${path} changed size while uploading`);
        await write(buffer.subarray(0, n));
        sent += n;
      }
      if (!settled) request.end();
    })().catch(fail);
  });
}

/** Opens a CONNECT tunnel to `target` through `proxy`. */
function tunnel(
  proxy: URL,
  target: URL,
  options: { ca?: string[]; signal?: AbortSignal },
): Promise<Duplex> {
  const authority = `${
    bareHost(target).includes(":") ? `[${bareHost(target)}]` : bareHost(target)
  }:${portOf(target)}`;
  return new Promise((resolve, reject) => {
    const request = moduleFor(proxy).request({
      host: bareHost(proxy),
      port: portOf(proxy),
      method: "CONNECT",
      path: authority,
      headers: { host: authority, ...proxyAuthorization(proxy) },
      agent: false,
      ca: options.ca,
      signal: options.signal,
    });
    request.on("connect", (response: http.IncomingMessage, socket: Duplex) => {
      if (response.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(new Error(`proxy ${proxy.host} refused the tunnel: HTTP ${response.statusCode}`));
    });
    request.on("response", (response: http.IncomingMessage) => {
      response.resume();
      reject(new Error(`proxy ${proxy.host} refused the tunnel: HTTP ${response.statusCode}`));
    });
    request.on("error", reject);
    request.end();
  });
}

function moduleFor(url: URL): typeof http | typeof https {
  return url.protocol === "https:" ? https : http;
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** SNI must be a host name, never an IP literal. */
function serverName(url: URL): string | undefined {
  const host = bareHost(url);
  return /^[\d.]+$/.test(host) || host.includes(":") ? undefined : host;
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username && !proxy.password) return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return {
    "proxy-authorization": `Basic ${new TextEncoder().encode(credentials).toBase64()}`,
  };
}
