// Limits: each is configurable (environment), has a sensible default, and is
// enforced with a clear answer: request body (COG_MAX_BODY_BYTES, 413), input
// file size (COG_MAX_INPUT_FILE_BYTES) and time (COG_INPUT_DOWNLOAD_TIMEOUT),
// redirects (COG_MAX_REDIRECTS), concurrent SSE subscribers
// (COG_MAX_SSE_SUBSCRIBERS, 429), and the webhook queue per prediction
// (bounded by coalescing: at most one pending update plus the terminal one).

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { readSettings } from "../../src/cli/server.ts";
import { startFixture, startReceiver, waitFor } from "../_helpers.ts";

Deno.test("limits have sensible defaults and are read from the environment", () => {
  const d = readSettings({});
  assertEquals(d.bodyLimit, 100 * 1024 * 1024);
  assertEquals(d.maxDownloadBytes, 1024 * 1024 * 1024);
  assertEquals(d.downloadTimeoutMs, 120_000);
  assertEquals(d.maxRedirects, 10);
  assertEquals(d.maxSubscribers, 1024);
  assertEquals(d.drainTimeoutMs, 60_000);
  assertEquals(d.queueSize, 0);
  const s = readSettings({
    COG_MAX_BODY_BYTES: "1000",
    COG_MAX_INPUT_FILE_BYTES: "2000",
    COG_INPUT_DOWNLOAD_TIMEOUT: "3",
    COG_MAX_REDIRECTS: "2",
    COG_MAX_SSE_SUBSCRIBERS: "5",
    COG_SHUTDOWN_GRACE: "7",
    COG_QUEUE_SIZE: "9",
  });
  assertEquals(
    [
      s.bodyLimit,
      s.maxDownloadBytes,
      s.downloadTimeoutMs,
      s.maxRedirects,
      s.maxSubscribers,
      s.drainTimeoutMs,
      s.queueSize,
    ],
    [1000, 2000, 3000, 2, 5, 7000, 9],
  );
  assertEquals(readSettings({ COG_MAX_REDIRECTS: "-3" }).maxRedirects, 0);
  assertEquals(readSettings({ COG_MAX_REDIRECTS: "nope" }).maxRedirects, 10);
});

Deno.test("request body over COG_MAX_BODY_BYTES is 413 with a message; the next request works", async () => {
  const s = await startFixture("echo", { settings: { COG_MAX_BODY_BYTES: "1024" } });
  try {
    const big = JSON.stringify({ input: { text: "x".repeat(2000) } });
    const r = await s.request("POST", "/predictions", big);
    assertEquals(r.status, 413);
    assertMatch(String(r.body), /larger than the 1024 byte limit/);
    // streamed without a Content-Length too
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const streamed = await fetch(`${s.url}/predictions`, {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json" },
    });
    assertEquals(streamed.status, 413);
    await streamed.body?.cancel();
    const ok = await s.request("POST", "/predictions", { input: { text: "small" } });
    assertEquals(ok.status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("input files: size, time and redirect limits fail the prediction clearly", async () => {
  const origin = startReceiver((req) => {
    const url = new URL(req.path, "http://x");
    if (url.pathname === "/big.bin") return new Response(new Uint8Array(5000));
    if (url.pathname === "/stream.bin") {
      // no Content-Length: the limit is enforced while streaming
      return new Response(
        new ReadableStream({
          start(c) {
            for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1000));
            c.close();
          },
        }),
      );
    }
    if (url.pathname === "/slow.bin") {
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(new Uint8Array(10));
            await new Promise((r) => setTimeout(r, 3000));
            try {
              c.close();
            } catch {
              // client gone
            }
          },
        }),
      );
    }
    const hop = /^\/hop\/(\d+)$/.exec(url.pathname);
    if (hop) {
      const n = Number(hop[1]);
      if (n === 0) return new Response(new Uint8Array(3));
      return new Response(null, { status: 302, headers: { location: `/hop/${n - 1}` } });
    }
    return new Response("nope", { status: 404 });
  });
  const s = await startFixture("file_inputs", {
    settings: {
      COG_MAX_INPUT_FILE_BYTES: "4000",
      COG_INPUT_DOWNLOAD_TIMEOUT: "1",
      COG_MAX_REDIRECTS: "2",
    },
  });
  try {
    const run = (image: string) => s.request("POST", "/predictions", { input: { image } });
    const big = await run(`${origin.url}/big.bin`);
    assertEquals(big.body.status, "failed");
    assertMatch(big.body.error, /big\.bin is 5000 bytes, over the 4000 byte limit/);
    const streamed = await run(`${origin.url}/stream.bin`);
    assertEquals(streamed.body.status, "failed");
    assertMatch(streamed.body.error, /over the 4000 byte limit/);
    const dataUrl = await run(`data:application/octet-stream;base64,${btoa("x".repeat(4500))}`);
    assertEquals(dataUrl.body.status, "failed");
    assertMatch(dataUrl.body.error, /larger than the 4000 byte limit/);
    const slow = await run(`${origin.url}/slow.bin`);
    assertEquals(slow.body.status, "failed");
    assertMatch(slow.body.error, /timed out after 1 s/);
    const twoHops = await run(`${origin.url}/hop/2`);
    assertEquals(twoHops.body.status, "succeeded", JSON.stringify(twoHops.body));
    assertEquals(twoHops.body.output.image.size, 3);
    const threeHops = await run(`${origin.url}/hop/3`);
    assertEquals(threeHops.body.status, "failed");
    assertMatch(threeHops.body.error, /more than 2 redirects/);
  } finally {
    await s.close();
    await origin.close();
  }
});

Deno.test("concurrent SSE subscribers are capped by COG_MAX_SSE_SUBSCRIBERS (429)", async () => {
  const gate = `${await Deno.makeTempDir({ prefix: "cog-gate-" })}/gate`;
  const s = await startFixture("sse_tokens", { settings: { COG_MAX_SSE_SUBSCRIBERS: "2" } });
  const open: Response[] = [];
  try {
    const created = await s.request("POST", "/predictions", {
      id: "capped",
      input: { count: 3, gate },
    }, {
      prefer: "respond-async",
    });
    assertEquals(created.status, 202);
    const attach = () =>
      fetch(`${s.url}/predictions/capped`, {
        method: "PUT",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ input: { count: 3, gate } }),
      });
    for (let i = 0; i < 2; i++) {
      const r = await attach();
      assertEquals(r.status, 200);
      open.push(r);
    }
    const third = await attach();
    assertEquals(third.status, 429);
    assertEquals((await third.json()).error, "Too many stream subscribers");
    // one leaves: a new one fits again
    await open.shift()!.body!.cancel();
    await waitFor(
      async () => {
        const r = await attach();
        if (r.status === 200) {
          open.push(r);
          return true;
        }
        await r.body?.cancel();
        return false;
      },
      5000,
      "a free subscriber place",
    );
    await Deno.writeTextFile(gate, "go");
    await waitFor(() => s.server.service.inFlight.length === 0, 10_000, "the prediction to end");
  } finally {
    for (const r of open) await r.body?.cancel().catch(() => {});
    await s.close();
    await Deno.remove(gate.slice(0, gate.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("the webhook queue per prediction is bounded: a slow receiver gets coalesced updates, one terminal", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const receiver = startReceiver(async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 200)); // slow: updates pile up behind this one
    inFlight--;
    return new Response("ok");
  });
  const s = await startFixture("logs_many", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" } });
  try {
    const r = await s.request("POST", "/predictions", {
      input: {},
      webhook: `${receiver.url}/hook`,
    });
    assertEquals(r.status, 200);
    await waitFor(
      () => receiver.received.some((x) => x.json().status === "succeeded"),
      20_000,
      "terminal",
    );
    await new Promise((res) => setTimeout(res, 500));
    const bodies = receiver.received.map((x) => x.json());
    const logLines = (r.body.logs as string).split("\n").length;
    assertEquals(bodies.filter((b) => b.status === "succeeded").length, 1);
    assertEquals(bodies.at(-1).status, "succeeded");
    assertEquals(maxInFlight, 1, "one delivery at a time per prediction");
    assert(
      bodies.length < logLines,
      `${bodies.length} webhooks for ${logLines} log lines: updates must be coalesced`,
    );
    console.log(
      `webhook queue: ${logLines} log lines -> ${bodies.length} webhooks (coalesced), 1 terminal`,
    );
  } finally {
    await s.close();
    await receiver.close();
  }
});
