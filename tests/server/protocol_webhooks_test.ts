// Webhooks against the real server with real recording receivers: filters,
// throttling, terminal delivery, retries, auth, non-blocking, ordering.

import { assert, assertEquals } from "../_assert.ts";
import { type Received, startFixture, startReceiver, waitFor } from "../_helpers.ts";

const ASYNC = { prefer: "respond-async" };

function statuses(received: Received[]): string[] {
  return received.map((r) => r.json().status);
}

Deno.test("webhooks are JSON POSTs with the snapshot, a user agent and no auth header by default", async () => {
  const hook = startReceiver();
  const s = await startFixture("echo");
  try {
    await s.request("POST", "/predictions", {
      id: "wh-1",
      input: { text: "w" },
      webhook: `${hook.url}/cb?x=1`,
    });
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    for (const h of hook.received) {
      assertEquals(h.method, "POST");
      assertEquals(h.path, "/cb?x=1");
      assertEquals(h.headers.get("content-type"), "application/json");
      assert(h.headers.get("user-agent")?.includes("/"), "has a user agent");
      assertEquals(h.headers.get("authorization"), null);
    }
    const done = hook.received.at(-1)!.json();
    assertEquals(done.id, "wh-1");
    assertEquals(done.output, "hello w");
    assertEquals(done.input, { text: "w" });
    assertEquals(typeof done.metrics.predict_time, "number");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("WEBHOOK_AUTH_TOKEN is sent as a bearer token, and traceparent is forwarded", async () => {
  const hook = startReceiver();
  const s = await startFixture("echo", { settings: { WEBHOOK_AUTH_TOKEN: "s3cret" } });
  try {
    await s.request("POST", "/predictions", { input: { text: "w" }, webhook: hook.url }, {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    for (const h of hook.received) {
      assertEquals(h.headers.get("authorization"), "Bearer s3cret");
      assertEquals(
        h.headers.get("traceparent"),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      );
    }
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("webhook_events_filter limits the events: completed only, and [] sends nothing", async () => {
  const hook = startReceiver();
  const s = await startFixture("generator", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" } });
  try {
    await s.request("POST", "/predictions", {
      id: "only-completed",
      input: {},
      webhook: `${hook.url}/a`,
      webhook_events_filter: ["completed"],
    });
    await s.request("POST", "/predictions", {
      id: "none",
      input: {},
      webhook: `${hook.url}/b`,
      webhook_events_filter: [],
    });
    await waitFor(() => hook.received.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(hook.received.map((h) => h.path), ["/a"]);
    assertEquals(hook.received[0].json().status, "succeeded");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("the output filter sends one webhook per chunk, never throttled, then completed", async () => {
  const hook = startReceiver();
  // a huge throttle interval: output events must still all arrive
  const s = await startFixture("generator", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "60" } });
  try {
    await s.request("POST", "/predictions", {
      input: { prefix: "o" },
      webhook: hook.url,
      webhook_events_filter: ["output", "completed"],
    });
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    const outputs = hook.received.map((h) => h.json().output);
    // each delivery carries the accumulated chunks; pending ones may coalesce but never reorder
    assertEquals(outputs.at(-1), ["o0", "o1", "o2"]);
    for (let i = 1; i < outputs.length; i++) {
      assert(outputs[i].length >= outputs[i - 1].length, "output webhooks arrive in order");
    }
    assertEquals(statuses(hook.received).filter((x) => x === "succeeded").length, 1);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("start and logs webhooks are throttled by COG_THROTTLE_RESPONSE_INTERVAL", async () => {
  const throttled = startReceiver();
  const eager = startReceiver();
  const slowEnv = await startFixture("logs_many", {
    settings: { COG_THROTTLE_RESPONSE_INTERVAL: "60" },
  });
  const fastEnv = await startFixture("logs_many", {
    settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" },
  });
  try {
    const input = { lines: 10, gap: 0.03 };
    await slowEnv.request("POST", "/predictions", { input, webhook: throttled.url });
    await fastEnv.request("POST", "/predictions", { input, webhook: eager.url });
    await waitFor(() => throttled.received.some((h) => h.json().status === "succeeded"));
    await waitFor(() => eager.received.some((h) => h.json().status === "succeeded"));
    // 60 s interval: the start webhook, then everything suppressed until completed
    assertEquals(statuses(throttled.received), ["processing", "succeeded"]);
    assertEquals(
      throttled.received[1].json().logs.split("\n").length,
      11,
      "completed carries all logs",
    );
    // no interval: many logs updates, all before completed
    assert(eager.received.length > 3, `only ${eager.received.length} webhooks without throttling`);
    assertEquals(statuses(eager.received).at(-1), "succeeded");
    const lengths = eager.received.map((h) => h.json().logs.length);
    for (let i = 1; i < lengths.length; i++) {
      assert(lengths[i] >= lengths[i - 1], "logs webhooks in order");
    }
  } finally {
    await slowEnv.close();
    await fastEnv.close();
    await throttled.close();
    await eager.close();
  }
});

Deno.test("the terminal webhook is retried on 5xx until it is accepted", async () => {
  const hook = startReceiver((_r, i) => new Response("no", { status: i < 3 ? 503 : 200 }));
  const s = await startFixture("echo", { settings: { COG_WEBHOOK_RETRY_BASE_MS: "10" } });
  try {
    const r = await s.request("POST", "/predictions", {
      input: { text: "r" },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    assertEquals(r.body.status, "succeeded");
    await waitFor(() => hook.received.length === 4, 10_000, "three failures and one success");
    for (const h of hook.received) assertEquals(h.json().status, "succeeded");
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(hook.received.length, 4, "no retries after a 2xx");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("the terminal webhook is retried after connection errors and a 4xx stops retries", async () => {
  // reserve a port, close it: the first attempts find nothing listening
  const probe = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const s = await startFixture("echo", { settings: { COG_WEBHOOK_RETRY_BASE_MS: "100" } });
  let late: Deno.HttpServer | null = null;
  const got: unknown[] = [];
  const rejecting = startReceiver(() => new Response("bad", { status: 400 }));
  try {
    const r = await s.request("POST", "/predictions", {
      input: { text: "c" },
      webhook: `http://127.0.0.1:${port}/late`,
      webhook_events_filter: ["completed"],
    });
    assertEquals(r.body.status, "succeeded", "a dead receiver does not fail the prediction");
    await new Promise((r) => setTimeout(r, 250));
    late = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      got.push(await req.json());
      return new Response("ok");
    });
    await waitFor(() => got.length === 1, 20_000, "a retry to reach the late receiver");
    assertEquals((got[0] as { status: string }).status, "succeeded");

    await s.request("POST", "/predictions", {
      input: { text: "d" },
      webhook: rejecting.url,
      webhook_events_filter: ["completed"],
    });
    await waitFor(() => rejecting.received.length === 1);
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(rejecting.received.length, 1, "a 400 is not retried");
  } finally {
    await s.close();
    await late?.shutdown();
    await rejecting.close();
  }
});

Deno.test("webhook delivery never blocks the prediction or the slot", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const hook = startReceiver(async () => {
    await gate;
    return new Response("ok");
  });
  const s = await startFixture("echo");
  try {
    const t0 = Date.now();
    const a = await s.request("POST", "/predictions", { input: { text: "a" }, webhook: hook.url });
    assertEquals(a.body.status, "succeeded");
    const b = await s.request("POST", "/predictions", { input: { text: "b" }, webhook: hook.url });
    assertEquals(b.status, 200, "the slot was free although webhooks hang");
    assert(Date.now() - t0 < 10_000);
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
    release();
    await waitFor(() => statuses(hook.received).filter((x) => x === "succeeded").length === 2);
  } finally {
    release();
    await s.close();
    await hook.close();
  }
});

Deno.test("webhooks of one prediction arrive in order even when the receiver is slow", async () => {
  const hook = startReceiver(async () => {
    await new Promise((r) => setTimeout(r, 30));
    return new Response("ok");
  });
  const s = await startFixture("logs_many", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" } });
  try {
    await s.request("POST", "/predictions", {
      input: { lines: 12, gap: 0.01, every: 3 },
      webhook: hook.url,
    });
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    await new Promise((r) => setTimeout(r, 200));
    const bodies = hook.received.map((h) => h.json());
    assertEquals(bodies.at(-1).status, "succeeded", "completed is last");
    assertEquals(bodies.filter((b) => b.status === "succeeded").length, 1);
    assertEquals(bodies[0].status, "processing");
    for (let i = 1; i < bodies.length; i++) {
      assert(bodies[i].logs.length >= bodies[i - 1].logs.length, "logs never go backwards");
      assert((bodies[i].output ?? []).length >= (bodies[i - 1].output ?? []).length);
    }
    assertEquals(bodies.at(-1).output, ["out2", "out5", "out8", "out11"]);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("failed and canceled predictions send their terminal webhook with the error", async () => {
  const hook = startReceiver();
  const s = await startFixture("raises");
  try {
    await s.request("POST", "/predictions", {
      input: {},
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await waitFor(() => hook.received.length === 1);
    const body = hook.received[0].json();
    assertEquals(body.status, "failed");
    assert(body.error.endsWith("ValueError: this is a value error"));
    assert(body.logs.includes("about to fail\n"));
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("422, 409 and 503 answers create no prediction and send no webhook", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    const invalid = await s.request("POST", "/predictions", {
      input: { seconds: "x" },
      webhook: hook.url,
    });
    assertEquals(invalid.status, 422);
    await s.request("POST", "/predictions", { id: "hold", input: { seconds: 30 } }, ASYNC);
    const busy = await s.request("POST", "/predictions", { input: {}, webhook: hook.url }, ASYNC);
    assertEquals(busy.status, 409);
    await s.request("POST", "/predictions/hold/cancel");
    await waitFor(() => s.server.service.inFlight.length === 0, 20_000);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(hook.received.length, 0);
  } finally {
    await s.close();
    await hook.close();
  }
});
