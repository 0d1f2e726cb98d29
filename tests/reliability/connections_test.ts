// Connection-level limits on a real `cog serve --no-docker` process:
//  - a create request whose body does not all arrive within
//    COG_HTTP_REQUEST_TIMEOUT is answered 408 and holds nothing afterwards;
//  - Deno.serve (2.9) has no idle or header-read timeout and ignores
//    `Connection: close` from a handler (docs/reliability.md), so what bounds
//    idle, half-sent-header and post-413 connections is measured instead: they
//    cost a file descriptor and little memory each, the server keeps serving
//    with hundreds of them open, gives every descriptor back when they go, and
//    does not buffer a body it refused with 413.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { FIXTURES, spawnCliServer } from "../_helpers.ts";
import { readSecuritySettings } from "../../src/cli/_security_settings.ts";

const MIB = 1024 * 1024;
const encoder = new TextEncoder();

async function rss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

async function fdCount(pid: number): Promise<number> {
  return (await Array.fromAsync(Deno.readDir(`/proc/${pid}/fd`))).length;
}

/** Reads from `conn` until `pattern` is in what arrived, or the deadline passes. */
async function readUntil(conn: Deno.Conn, pattern: RegExp, ms: number): Promise<string> {
  const buffer = new Uint8Array(65536);
  let text = "";
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while (!pattern.test(text)) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } catch {
    // closed by the timer
  } finally {
    clearTimeout(timer);
  }
  return text;
}

async function predictOk(url: string): Promise<number> {
  const started = performance.now();
  const r = await fetch(`${url}/predictions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: { text: "alive" } }),
    signal: AbortSignal.timeout(20_000),
  });
  const body = await r.json();
  assertEquals(body.status, "succeeded", JSON.stringify(body));
  return performance.now() - started;
}

Deno.test("COG_HTTP_REQUEST_TIMEOUT: a create body that stalls half-way gets 408 and the server moves on", async () => {
  const s = await spawnCliServer(`${FIXTURES}echo`, [], { COG_HTTP_REQUEST_TIMEOUT: "1" });
  const port = Number(new URL(s.url).port);
  try {
    const heads = [
      "POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      'Content-Length: 100\r\n\r\n{"input":',
      "PUT /predictions/slow-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      'Transfer-Encoding: chunked\r\n\r\n9\r\n{"input":\r\n',
      "PUT /predictions/slow-2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      "Content-Length: 10\r\n\r\n",
    ];
    for (const head of heads) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        const started = performance.now();
        await conn.write(encoder.encode(head));
        const answer = await readUntil(conn, /COG_HTTP_REQUEST_TIMEOUT\)/, 15_000);
        const ms = performance.now() - started;
        assertMatch(answer, /^HTTP\/1\.1 408 /, head);
        assertMatch(
          answer,
          /The request body did not arrive within 1 s \(COG_HTTP_REQUEST_TIMEOUT\)/,
        );
        assert(ms >= 900 && ms < 10_000, `answered after ${Math.round(ms)} ms`);
      } finally {
        try {
          conn.close();
        } catch {
          // closed by readUntil's deadline
        }
      }
    }
    await predictOk(s.url);
  } finally {
    s.child.kill("SIGINT");
    assertEquals((await s.exit()).code, 0);
  }
});

Deno.test("connection settings: defaults, and malformed values are refused naming the variable", () => {
  const defaults = readSecuritySettings({});
  assertEquals(defaults.bodyTimeoutMs, 60_000);
  assertEquals(defaults.maxOutputFileBytes, 10 * 1024 ** 3);
  assertEquals(defaults.allowLocalFileInputs, false);
  assertEquals(defaults.allowedOrigins, []);
  assertEquals(
    readSecuritySettings({ COG_ALLOWED_ORIGINS: "https://A.example.com/, http://localhost:3000" })
      .allowedOrigins,
    ["https://a.example.com", "http://localhost:3000"],
  );
  for (
    const [env, pattern] of [
      [{ COG_HTTP_REQUEST_TIMEOUT: "0" }, /COG_HTTP_REQUEST_TIMEOUT=0 is not a positive number/],
      [{ COG_MAX_OUTPUT_FILE_BYTES: "lots" }, /COG_MAX_OUTPUT_FILE_BYTES=lots is not a positive/],
      [{ COG_ALLOWED_ORIGINS: "evil.example" }, /"evil\.example" is not an origin like/],
      [{ COG_ALLOWED_ORIGINS: "https://a.example/path" }, /is not an origin like/],
    ] as const
  ) {
    let error: unknown = null;
    try {
      readSecuritySettings(env);
    } catch (e) {
      error = e;
    }
    assertMatch(String(error), pattern);
  }
});

Deno.test("idle, half-sent-header and silent connections cost a descriptor each: the server keeps serving and gives them back", async () => {
  const s = await spawnCliServer(`${FIXTURES}echo`);
  const port = Number(new URL(s.url).port);
  const pid = s.child.pid;
  const conns: Deno.Conn[] = [];
  try {
    await predictOk(s.url);
    const fdsBefore = await fdCount(pid);
    const rssBefore = await rss(pid);
    const PER_KIND = 150;
    for (let i = 0; i < PER_KIND; i++) {
      // idle keep-alive after one request
      const idle = await Deno.connect({ hostname: "127.0.0.1", port });
      await idle.write(encoder.encode("GET /health-check HTTP/1.1\r\nHost: x\r\n\r\n"));
      conns.push(idle);
      // half-sent headers (slowloris)
      const half = await Deno.connect({ hostname: "127.0.0.1", port });
      await half.write(encoder.encode("POST /predictions HTTP/1.1\r\nHost: x\r\nX-Slow: "));
      conns.push(half);
      // connected, never a byte
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    // Let the server accept them all.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const fdsDuring = await fdCount(pid);
    assert(fdsDuring - fdsBefore >= PER_KIND * 3 * 0.9, `${fdsDuring - fdsBefore} descriptors`);
    const ms = await predictOk(s.url);
    assert(ms < 5_000, `a prediction took ${Math.round(ms)} ms with ${conns.length} idle conns`);
    const grew = (await rss(pid)) - rssBefore;
    assert(grew < 64 * MIB, `RSS grew ${Math.round(grew / MIB)} MiB for ${conns.length} conns`);
    console.log(
      `connections: ${conns.length} open: +${fdsDuring - fdsBefore} fds, ` +
        `+${Math.round(grew / 1024)} KiB RSS, a prediction took ${Math.round(ms)} ms`,
    );
    for (const conn of conns.splice(0)) conn.close();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await fdCount(pid)) > fdsBefore + 5) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert((await fdCount(pid)) <= fdsBefore + 5, "descriptors were not given back");
    await predictOk(s.url);
  } finally {
    for (const conn of conns) conn.close();
    s.child.kill("SIGINT");
    assertEquals((await s.exit()).code, 0);
  }
});

Deno.test("a body refused with 413 is not buffered: a client that keeps sending costs the server no memory", async () => {
  const s = await spawnCliServer(`${FIXTURES}echo`, [], { COG_MAX_BODY_BYTES: String(MIB) });
  const port = Number(new URL(s.url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const rssBefore = await rss(s.child.pid);
    await conn.write(
      encoder.encode(
        "POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          `Content-Length: ${1024 * MIB}\r\n\r\n`,
      ),
    );
    const answer = await readUntil(conn, /byte limit/, 10_000);
    assertMatch(answer, /^HTTP\/1\.1 413 /);
    assertMatch(answer, /Request body is larger than the 1048576 byte limit/);
    // Keep sending 96 MiB of the declared GiB after the refusal.
    const chunk = new Uint8Array(MIB).fill(0x20);
    let sent = 0;
    try {
      for (; sent < 96; sent++) await conn.write(chunk);
    } catch {
      // the server may close the connection: fine too
    }
    const grew = (await rss(s.child.pid)) - rssBefore;
    assert(grew < 48 * MIB, `RSS grew ${Math.round(grew / MIB)} MiB after ${sent} MiB sent`);
    console.log(`after 413: ${sent} MiB more sent, server RSS +${Math.round(grew / 1024)} KiB`);
    await predictOk(s.url);
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
    s.child.kill("SIGINT");
    assertEquals((await s.exit()).code, 0);
  }
});
