// Create-request body rules: no Content-Type, malformed JSON, wrong shapes,
// non-JSON types, the 100 MiB limit, and ignored unknown fields.

import { assertEquals } from "../_assert.ts";
import { startFixture } from "../_helpers.ts";

Deno.test('a POST without Content-Type is treated as {"input":{}}', async () => {
  const s = await startFixture("function_predictor");
  try {
    const r = await fetch(`${s.url}/predictions`, { method: "POST" });
    assertEquals(r.status, 200);
    assertEquals((await r.json()).output, "hello world");
    const withBody = await fetch(`${s.url}/predictions`, {
      method: "POST",
      body: new Uint8Array([1, 2]),
    });
    assertEquals(withBody.status, 200, "the body is ignored without a Content-Type");
    await withBody.body?.cancel();
  } finally {
    await s.close();
  }
});

Deno.test("malformed JSON is 400", async () => {
  const s = await startFixture("echo");
  try {
    for (const body of ['{"input": ', "{'input': {}}", "nope"]) {
      const r = await s.request("POST", "/predictions", body);
      assertEquals(r.status, 400, body);
    }
    assertEquals((await s.request("PUT", "/predictions/x", "{")).status, 400);
  } finally {
    await s.close();
  }
});

Deno.test("a body of the wrong shape is 422", async () => {
  const s = await startFixture("echo");
  try {
    const bodies: unknown[] = [
      [],
      '"text"',
      { input: [] },
      { input: "text" },
      { context: { a: 1 } },
      { context: "x" },
      { webhook_events_filter: ["start", "bogus"] },
      { webhook_events_filter: null },
      { id: 5 },
      { webhook: 7 },
    ];
    for (const body of bodies) {
      const r = await s.request(
        "POST",
        "/predictions",
        typeof body === "string" ? body : JSON.stringify(body),
      );
      assertEquals(r.status, 422, JSON.stringify(body));
    }
    assertEquals(s.server.service.inFlight, []);
  } finally {
    await s.close();
  }
});

Deno.test("a non-JSON Content-Type is 415", async () => {
  const s = await startFixture("echo");
  try {
    const r = await s.request("POST", "/predictions", "input=1", {
      "content-type": "application/x-www-form-urlencoded",
    });
    assertEquals(r.status, 415);
    const ok = await s.request("POST", "/predictions", { input: { text: "cs" } }, {
      "content-type": "application/json; charset=utf-8",
    });
    assertEquals(ok.body.output, "hello cs");
  } finally {
    await s.close();
  }
});

Deno.test("input null or missing means {}, and unknown top-level fields are ignored", async () => {
  const s = await startFixture("function_predictor");
  try {
    for (
      const body of [{}, { input: null }, {
        input: {},
        created_at: "2024-01-01T00:00:00Z",
        version: "v",
        output_file_prefix: "x",
      }]
    ) {
      const r = await s.request("POST", "/predictions", body);
      assertEquals(r.status, 200, JSON.stringify(body));
      assertEquals(r.body.output, "hello world");
    }
    const empty = await s.request("POST", "/predictions", "", {
      "content-type": "application/json",
    });
    assertEquals(empty.status, 200, "an empty JSON body counts as {}");
  } finally {
    await s.close();
  }
});

Deno.test("a body over 100 MiB is 413 and the server keeps serving", async () => {
  const s = await startFixture("echo");
  try {
    const size = 100 * 1024 * 1024 + 16;
    const big = new Uint8Array(size).fill(0x20);
    big.set(new TextEncoder().encode('{"input":{"text":"'), 0);
    const r = await fetch(`${s.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    assertEquals(r.status, 413);
    await r.body?.cancel();
    // a chunked body (no Content-Length) over the limit is caught while reading
    let sent = 0;
    const chunk = new Uint8Array(4 * 1024 * 1024).fill(0x20);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > size) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const chunked = await fetch(`${s.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    }).catch((e) => e);
    if (chunked instanceof Response) {
      assertEquals(chunked.status, 413);
      await chunked.body?.cancel();
    }
    const after = await s.request("POST", "/predictions", { input: { text: "small" } });
    assertEquals(after.body.output, "hello small");
  } finally {
    await s.close();
  }
});

Deno.test("a body just under the limit is accepted", async () => {
  const s = await startFixture("echo", { settings: { COG_MAX_BODY_BYTES: "4096" } });
  try {
    const text = "x".repeat(3000);
    const ok = await s.request("POST", "/predictions", { input: { text } });
    assertEquals(ok.status, 200);
    const tooBig = await s.request("POST", "/predictions", { input: { text: "x".repeat(5000) } });
    assertEquals(tooBig.status, 413);
  } finally {
    await s.close();
  }
});
