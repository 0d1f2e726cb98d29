// Files over real networks: uploads (node:http/https) to an HTTPS receiver whose CA is
// trusted through DENO_CERT, HTTP_PROXY / HTTPS_PROXY / NO_PROXY honoured by input
// downloads, uploads and webhooks (through a small real proxy started here), cancel of
// an upload stuck on a receiver that never answers, the whole-file time limits
// COG_UPLOAD_TIMEOUT and COG_INPUT_DOWNLOAD_TIMEOUT, and data URL decoding.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { spawnCliServer, startFixture, startReceiver, waitFor, writeProject } from "../_helpers.ts";
import {
  decodeDataUrl,
  type FileOptions,
  InputFileError,
  proxySettingsFromEnv,
  UploadError,
  uploadFile,
} from "../../src/server/files.ts";
import { proxyFor } from "../../src/server/_proxy.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

// ---- helpers ---------------------------------------------------------------------------

/** A test CA and a server certificate it signs for 127.0.0.1 / localhost (openssl). */
async function makeCertificates(): Promise<{ dir: string; ca: string; cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "cog-test-tls-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(`openssl ${args[0]} failed: ${decoder.decode(out.stderr)}`);
  };
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=cog test CA",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await run([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "leaf.ext",
  ]);
  return { dir, ca: `${dir}/ca.pem`, cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
}

interface Upload {
  method: string;
  path: string;
  contentLength: string | null;
  chunked: boolean;
  body: Uint8Array;
}

/** An HTTPS (or HTTP) receiver recording PUTs and answering with a Location. */
function startUploadReceiver(tls?: { cert: string; key: string }) {
  const received: Upload[] = [];
  const options = { port: 0, hostname: "127.0.0.1", onListen: () => {} };
  const handler = async (req: Request) => {
    const url = new URL(req.url);
    received.push({
      method: req.method,
      path: url.pathname,
      contentLength: req.headers.get("content-length"),
      chunked: req.headers.get("transfer-encoding") !== null,
      body: new Uint8Array(await req.arrayBuffer()),
    });
    return new Response(null, {
      status: 201,
      headers: { location: `https://store.test${url.pathname}?token=secret` },
    });
  };
  const server = tls
    ? Deno.serve({
      ...options,
      cert: Deno.readTextFileSync(tls.cert),
      key: Deno.readTextFileSync(tls.key),
    }, handler)
    : Deno.serve(options, handler);
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}/up/`,
    port: server.addr.port,
    received,
    close: () => server.shutdown(),
  };
}

/**
 * A small real forward proxy: absolute-form requests (one per connection, answered with
 * `Connection: close`) are forwarded with fetch; CONNECT opens a raw TCP tunnel. Every
 * request line is recorded.
 */
function startProxy() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const conns = new Set<Deno.Conn>();
  const handle = async (conn: Deno.Conn) => {
    let buffered = new Uint8Array(0);
    const buffer = new Uint8Array(64 * 1024);
    let headEnd = -1;
    while (headEnd < 0) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const next = new Uint8Array(buffered.length + n);
      next.set(buffered);
      next.set(buffer.subarray(0, n), buffered.length);
      buffered = next;
      headEnd = decoder.decode(buffered).indexOf("\r\n\r\n");
    }
    const headText = decoder.decode(buffered.subarray(0, headEnd));
    const [requestLine, ...headerLines] = headText.split("\r\n");
    seen.push(requestLine);
    const [method, target] = requestLine.split(" ");
    if (method === "CONNECT") {
      const [hostname, port] = target.split(":");
      const upstream = await Deno.connect({ hostname, port: Number(port) });
      conns.add(upstream);
      await conn.write(encoder.encode("HTTP/1.1 200 Connection established\r\n\r\n"));
      await Promise.allSettled([
        conn.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(conn.writable),
      ]);
      return;
    }
    const headers = new Headers();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!["host", "connection", "proxy-connection", "content-length"].includes(name)) {
        headers.append(name, line.slice(colon + 1).trim());
      }
    }
    const length = Number(/^content-length:\s*(\d+)/im.exec(headText)?.[1] ?? 0);
    let body = buffered.subarray(headEnd + 4);
    while (body.length < length) {
      const n = await conn.read(buffer);
      if (n === null) break;
      const next = new Uint8Array(body.length + n);
      next.set(body);
      next.set(buffer.subarray(0, n), body.length);
      body = next;
    }
    const response = await fetch(target, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : body,
      redirect: "manual",
    });
    const payload = new Uint8Array(await response.arrayBuffer());
    let head = `HTTP/1.1 ${response.status} ${response.statusText || "OK"}\r\n`;
    response.headers.forEach((value, name) => {
      if (!["content-length", "connection", "transfer-encoding"].includes(name)) {
        head += `${name}: ${value}\r\n`;
      }
    });
    head += `content-length: ${payload.length}\r\nconnection: close\r\n\r\n`;
    await conn.write(encoder.encode(head));
    let written = 0;
    while (written < payload.length) written += await conn.write(payload.subarray(written));
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      handle(conn).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch {
          // already closed
        }
      });
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    seen,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await accepting.catch(() => {});
    },
  };
}

/** A receiver that accepts connections and reads forever without ever answering. */
function startSilentReceiver() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let bytes = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(64 * 1024);
        try {
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) break;
            bytes += n;
          }
        } catch {
          // closed under us
        }
      })();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/up/`,
    connections: () => conns.size,
    bytes: () => bytes,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await accepting.catch(() => {});
    },
  };
}

const COPY_PROJECT = {
  "cog.yaml": 'run: "predict.py:Predictor"\n',
  "predict.py": [
    "import os, shutil, tempfile",
    "from cog import BasePredictor, Path",
    "class Predictor(BasePredictor):",
    "    def predict(self, file: Path) -> Path:",
    "        out = os.path.join(tempfile.mkdtemp(), 'result.txt')",
    "        shutil.copy(file, out)",
    "        return Path(out)",
    "",
  ].join("\n"),
};

function fileOptions(overrides: Partial<FileOptions> = {}): FileOptions {
  return {
    downloadTimeoutMs: 60_000,
    maxDownloadBytes: 1024 * 1024,
    maxRedirects: 5,
    attempts: 3,
    uploadTimeoutMs: 60_000,
    ...overrides,
  };
}

// ---- HTTPS -------------------------------------------------------------------------------

Deno.test("uploads reach an HTTPS receiver whose CA is trusted through DENO_CERT, streamed with a Content-Length; without it they fail on the certificate", async () => {
  const certs = await makeCertificates();
  const receiver = startUploadReceiver(certs);
  const files = Deno.serve(
    {
      port: 0,
      hostname: "127.0.0.1",
      cert: Deno.readTextFileSync(certs.cert),
      key: Deno.readTextFileSync(certs.key),
      onListen: () => {},
    },
    () => new Response("over tls\n"),
  );
  const project = await writeProject(COPY_PROJECT);
  const server = await spawnCliServer(project, ["--upload-url", receiver.url], {
    DENO_CERT: certs.ca,
  });
  try {
    const input = `https://127.0.0.1:${files.addr.port}/in.txt`;
    const r = await fetch(`${server.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { file: input } }),
    });
    const body = await r.json();
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output, "https://store.test/up/result.txt", "Location, query stripped");
    assertEquals(receiver.received.length, 1);
    const upload = receiver.received[0];
    assertEquals(upload.method, "PUT");
    assertEquals(upload.contentLength, "9");
    assertEquals(upload.chunked, false);
    assertEquals(
      decoder.decode(upload.body),
      "over tls\n",
      "downloaded over TLS, uploaded over TLS",
    );
  } finally {
    await fetch(`${server.url}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel());
    assertEquals((await server.exit()).code, 0);
  }

  // This test process has no DENO_CERT: the same receiver is refused.
  const s = await startFixture("file_outputs", { uploadUrl: receiver.url });
  try {
    const { body } = await s.request("POST", "/predictions", { input: { kind: "png" } });
    assertEquals(body.status, "failed");
    assertMatch(
      body.error,
      /^upload of image\.png to https:\/\/127\.0\.0\.1:\d+\/up\/image\.png failed: .*certificate/i,
    );
    assertEquals(receiver.received.length, 1, "nothing was accepted without the CA");
  } finally {
    await s.close();
    await receiver.close();
    await files.shutdown();
    await Deno.remove(certs.dir, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

// ---- proxies -----------------------------------------------------------------------------

Deno.test("HTTP_PROXY and HTTPS_PROXY carry input downloads, webhooks and uploads (CONNECT for https); NO_PROXY bypasses them", async () => {
  const certs = await makeCertificates();
  const proxy = startProxy();
  const tlsReceiver = startUploadReceiver(certs);
  const plainReceiver = startUploadReceiver();
  const hooks = startReceiver();
  const files = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response("via the proxy\n"),
  );
  const project = await writeProject(COPY_PROJECT);
  const predictAsync = async (url: string, input: string, hook: string) => {
    const r = await fetch(`${url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async" },
      body: JSON.stringify({
        input: { file: input },
        webhook: hook,
        webhook_events_filter: ["completed"],
      }),
    });
    assertEquals(r.status, 202);
    await r.body?.cancel();
  };
  const stop = async (server: Awaited<ReturnType<typeof spawnCliServer>>) => {
    await fetch(`${server.url}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel());
    assertEquals((await server.exit()).code, 0);
  };
  try {
    // 1. Everything through the proxy: GET (absolute form), POST webhook, PUT over CONNECT.
    const first = await spawnCliServer(project, ["--upload-url", tlsReceiver.url], {
      HTTP_PROXY: proxy.url,
      HTTPS_PROXY: proxy.url,
      DENO_CERT: certs.ca,
    });
    try {
      await predictAsync(
        first.url,
        `http://127.0.0.1:${files.addr.port}/in.txt`,
        `${hooks.url}/hook1`,
      );
      await waitFor(() => hooks.received.length === 1, 20_000, "the completed webhook");
      const done = hooks.received[0].json();
      assertEquals(done.status, "succeeded", done.error);
      assertEquals(done.output, "https://store.test/up/result.txt");
      assertEquals(decoder.decode(tlsReceiver.received[0].body), "via the proxy\n");
    } finally {
      await stop(first);
    }
    const filesPort = files.addr.port;
    const hooksPort = new URL(hooks.url).port;
    assert(
      proxy.seen.includes(`GET http://127.0.0.1:${filesPort}/in.txt HTTP/1.1`),
      `download through the proxy: ${proxy.seen}`,
    );
    assert(
      proxy.seen.includes(`POST http://127.0.0.1:${hooksPort}/hook1 HTTP/1.1`),
      `webhook through the proxy: ${proxy.seen}`,
    );
    assert(
      proxy.seen.some((l) => l.startsWith(`CONNECT 127.0.0.1:${tlsReceiver.port} `)),
      `upload tunnelled through the proxy: ${proxy.seen}`,
    );

    // 2. NO_PROXY=localhost: the download and the webhook (to localhost) go direct, the
    //    plain-http upload (to 127.0.0.1) still goes through the proxy, in absolute form.
    proxy.seen.length = 0;
    const second = await spawnCliServer(project, ["--upload-url", plainReceiver.url], {
      HTTP_PROXY: proxy.url,
      NO_PROXY: "localhost",
    });
    try {
      await predictAsync(
        second.url,
        `http://localhost:${filesPort}/in.txt`,
        `http://localhost:${hooksPort}/hook2`,
      );
      await waitFor(() => hooks.received.length === 2, 20_000, "the second completed webhook");
      const done = hooks.received[1].json();
      assertEquals(done.status, "succeeded", done.error);
      assertEquals(plainReceiver.received[0].contentLength, "14");
      assertEquals(decoder.decode(plainReceiver.received[0].body), "via the proxy\n");
    } finally {
      await stop(second);
    }
    assertEquals(proxy.seen, [`PUT ${plainReceiver.url}result.txt HTTP/1.1`]);
  } finally {
    await proxy.close();
    await tlsReceiver.close();
    await plainReceiver.close();
    await hooks.close();
    await files.shutdown();
    await Deno.remove(certs.dir, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("proxy settings: scheme-specific proxies, NO_PROXY hosts, subdomains, ports, CIDRs and *; a malformed proxy URL is a clear error", () => {
  const s = proxySettingsFromEnv({
    HTTP_PROXY: "proxy.internal:3128",
    https_proxy: "http://user:pw@secure.internal:8080",
    NO_PROXY: "example.com, .corp.test,10.0.0.0/8,api.local:8443,[::1]",
  });
  const via = (url: string) => proxyFor(new URL(url), s)?.href ?? null;
  assertEquals(via("http://files.test/a"), "http://proxy.internal:3128/");
  assertEquals(via("https://files.test/a"), "http://user:pw@secure.internal:8080/");
  assertEquals(via("http://example.com/a"), null);
  assertEquals(via("http://cdn.example.com/a"), null, "subdomains of a NO_PROXY name");
  assertEquals(via("http://notexample.com/a"), "http://proxy.internal:3128/");
  assertEquals(via("https://x.corp.test/a"), null);
  assertEquals(via("http://10.1.2.3/a"), null, "inside the CIDR");
  assertEquals(via("http://11.1.2.3/a"), "http://proxy.internal:3128/");
  assertEquals(via("https://api.local:8443/a"), null);
  assertEquals(via("https://api.local/a"), "http://user:pw@secure.internal:8080/", "other port");
  assertEquals(via("http://[::1]:9000/a"), null);
  assertEquals(proxyFor(new URL("http://a.test"), proxySettingsFromEnv({ NO_PROXY: "*" })), null);
  assertEquals(proxyFor(new URL("http://a.test"), proxySettingsFromEnv({})), null);
  let message = "";
  try {
    proxySettingsFromEnv({ HTTPS_PROXY: "socks5://proxy:1080" });
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(message, "HTTPS_PROXY must be an http:// or https:// proxy URL, got socks5://");
});

// ---- cancel and time limits ----------------------------------------------------------------

Deno.test("aborting the signal stops an upload to a receiver that never answers at once", async () => {
  const silent = startSilentReceiver();
  const dir = await Deno.makeTempDir({ prefix: "cog-test-upload-" });
  try {
    await Deno.writeFile(`${dir}/out.bin`, new Uint8Array(2 * 1024 * 1024));
    const controller = new AbortController();
    const upload = uploadFile(
      `${dir}/out.bin`,
      "application/octet-stream",
      fileOptions({ uploadUrl: silent.url }),
      {},
      controller.signal,
    );
    let outcome: unknown = null;
    upload.then(() => outcome = "resolved", (error) => outcome = error);
    await waitFor(() => silent.bytes() > 2 * 1024 * 1024, 10_000, "the body to arrive");
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(outcome, null, "still waiting for an answer that never comes");
    const t0 = performance.now();
    controller.abort();
    await waitFor(() => outcome !== null, 2_000, "the upload to stop");
    const elapsed = performance.now() - t0;
    assert(outcome instanceof UploadError, String(outcome));
    assertMatch((outcome as Error).message, /^upload of out\.bin to .* failed: canceled$/);
    assert(elapsed < 1_000, `stopped after ${elapsed.toFixed(0)} ms`);
    assertEquals(silent.connections(), 1, "no retry after a cancel");
  } finally {
    await silent.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("canceling a prediction whose output upload hangs ends it canceled and frees the slot", async () => {
  const silent = startSilentReceiver();
  const hooks = startReceiver();
  const s = await startFixture("file_outputs", {
    uploadUrl: silent.url,
    settings: { COG_UPLOAD_TIMEOUT: "120" },
  });
  try {
    const created = await s.request("PUT", "/predictions/up-cancel", {
      input: { kind: "bin", size: 1000 },
      webhook: `${hooks.url}/hook`,
      webhook_events_filter: ["completed"],
    }, { prefer: "respond-async" });
    assertEquals(created.status, 202);
    await waitFor(() => silent.bytes() >= 1000, 10_000, "the upload to be sent");
    const cancel = await s.request("POST", "/predictions/up-cancel/cancel");
    assertEquals(cancel.status, 200);
    await waitFor(() => hooks.received.length === 1, 5_000, "the completed webhook");
    assertEquals(hooks.received[0].json().status, "canceled");
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "READY");
  } finally {
    await s.close();
    await silent.close();
    await hooks.close();
  }
});

Deno.test("COG_UPLOAD_TIMEOUT bounds a whole upload, retries included; COG_INPUT_DOWNLOAD_TIMEOUT a whole download", async () => {
  // A receiver that never answers: one attempt, cut at the limit.
  const silent = startSilentReceiver();
  const s = await startFixture("file_outputs", {
    uploadUrl: silent.url,
    settings: { COG_UPLOAD_TIMEOUT: "0.5" },
  });
  try {
    const { body } = await s.request("POST", "/predictions", { input: { kind: "png" } });
    assertEquals(body.status, "failed");
    assertMatch(body.error, /^upload of image\.png to .* failed: timed out after 0\.5 s$/);
  } finally {
    await s.close();
    await silent.close();
  }

  // 503s retried with backoff (0.25 s, 0.5 s): the 0.4 s limit ends it before the third try.
  const busy = startReceiver(() => new Response("busy", { status: 503 }));
  const t = await startFixture("file_outputs", {
    uploadUrl: busy.url,
    settings: { COG_UPLOAD_TIMEOUT: "0.4" },
  });
  try {
    const { body } = await t.request("POST", "/predictions", { input: { kind: "png" } });
    assertEquals(body.status, "failed");
    assertMatch(body.error, /failed: timed out after 0\.4 s$/);
    assert(busy.received.length < 3, `${busy.received.length} attempts`);
  } finally {
    await t.close();
  }
  const u = await startFixture("file_inputs", {
    settings: { COG_INPUT_DOWNLOAD_TIMEOUT: "0.4" },
  });
  try {
    const before = busy.received.length;
    const { body } = await u.request("POST", "/predictions", {
      input: { image: `${busy.url}/in.png` },
    });
    assertEquals(body.status, "failed");
    assertMatch(body.error, /could not download .*: timed out after 0\.4 s$/);
    assert(busy.received.length - before < 3, `${busy.received.length - before} attempts`);
  } finally {
    await u.close();
    await busy.close();
  }
});

// ---- base64 ------------------------------------------------------------------------------

Deno.test("data URLs decode with the platform's base64: padding optional, whitespace and the URL-safe alphabet accepted, garbage refused", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x00, 0x41]);
  const standard = bytes.toBase64();
  assertEquals(standard, "+//+AEE=");
  const decode = (url: string) => [...decodeDataUrl(url).bytes];
  assertEquals(decode(`data:application/octet-stream;base64,${standard}`), [...bytes]);
  assertEquals(decode("data:;base64,-__-AEE"), [...bytes], "URL-safe, no padding");
  assertEquals(decode("data:;base64,%2B%2F%2F%2B%0AAEE%3D"), [...bytes], "percent-encoded");
  assertEquals(decode("data:;base64, +//+\n AEE= "), [...bytes], "whitespace");
  assertEquals(decodeDataUrl("data:text/plain,a%20b").mime, "text/plain");
  for (const bad of ["data:;base64,@@@", "data:;base64,A", "data:;base64,AA=A"]) {
    let error: unknown = null;
    try {
      decodeDataUrl(bad);
    } catch (e) {
      error = e;
    }
    assert(error instanceof InputFileError, `${bad}: ${error}`);
    assertEquals((error as Error).message, "malformed data URL: the base64 payload is invalid");
  }
});
