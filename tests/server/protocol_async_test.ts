// Request modes against the real server: sync, async (Prefer: respond-async)
// and idempotent PUT /predictions/{id}, including duplicate ids.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, startReceiver, waitFor } from "../_helpers.ts";

const ASYNC = { prefer: "respond-async" };

Deno.test("Prefer: respond-async answers 202 with the live state at once and the webhook gets the result", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    const r = await s.request("POST", "/predictions", {
      id: "async-1",
      input: { seconds: 0.3 },
      webhook: `${hook.url}/hook`,
    }, ASYNC);
    assertEquals(r.status, 202);
    assertEquals(r.body.id, "async-1");
    assertEquals(r.body.status, "processing", "the 202 says what the prediction is doing");
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    const last = hook.received.at(-1)!.json();
    assertEquals(last.id, "async-1");
    assertEquals(last.output, "woke up");
    assertEquals(last.logs, "sleeping 0.3\n");
    assertEquals(typeof last.metrics.predict_time, "number");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("only the exact Prefer value respond-async selects async mode", async () => {
  const s = await startFixture("echo");
  try {
    const r = await s.request("POST", "/predictions", { input: { text: "x" } }, {
      prefer: "respond-async, wait=5",
    });
    assertEquals(r.status, 200);
    assertEquals(r.body.status, "succeeded");
  } finally {
    await s.close();
  }
});

Deno.test("an async prediction generates an id when none is given", async () => {
  const s = await startFixture("echo");
  try {
    const r = await s.request("POST", "/predictions", { input: { text: "x" } }, ASYNC);
    assertEquals(r.status, 202);
    assertMatch(r.body.id, /^pred_[0-9a-f]+$/);
    await waitFor(() => s.server.service.inFlight.length === 0);
  } finally {
    await s.close();
  }
});

Deno.test("PUT /predictions/{id} with a new id runs it like POST (sync and async)", async () => {
  const s = await startFixture("echo");
  try {
    const sync = await s.request("PUT", "/predictions/put-sync", { input: { text: "a" } });
    assertEquals(sync.status, 200);
    assertEquals(sync.body.id, "put-sync");
    assertEquals(sync.body.output, "hello a");
    const same = await s.request("PUT", "/predictions/put-body-id", {
      id: "put-body-id",
      input: { text: "b" },
    });
    assertEquals(same.status, 200);
    assertEquals(same.body.output, "hello b");
    const async = await s.request("PUT", "/predictions/put-async", { input: { text: "c" } }, ASYNC);
    assertEquals(async.status, 202);
    assertEquals(async.body.id, "put-async");
    assertEquals(async.body.status, "processing");
    await waitFor(() => s.server.service.inFlight.length === 0);
  } finally {
    await s.close();
  }
});

Deno.test("PUT /predictions/{id} returns 202 with the live state when the id is in flight", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    const first = await s.request("PUT", "/predictions/live-1", {
      input: { seconds: 1.5 },
      webhook: hook.url,
    }, ASYNC);
    assertEquals(first.status, 202);
    await waitFor(() => s.server.service.get("live-1")?.logs() === "sleeping 1.5\n");
    for (const headers of [ASYNC, {}]) {
      // a retry (async or sync) with different input is not run again and does not wait
      const retry = await s.request(
        "PUT",
        "/predictions/live-1",
        { input: { seconds: 99 } },
        headers,
      );
      assertEquals(retry.status, 202);
      assertEquals(retry.body.id, "live-1");
      assertEquals(retry.body.status, "processing");
      assertEquals(retry.body.input, { seconds: 1.5 });
      assertEquals(retry.body.logs, "sleeping 1.5\n");
    }
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    const completed = hook.received.filter((h) => h.json().status === "succeeded");
    assertEquals(completed.length, 1, "the prediction ran once");
    assertEquals(completed[0].json().input, { seconds: 1.5 });
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("PUT /predictions/{id} with a different id in the body gets 422", async () => {
  const s = await startFixture("echo");
  try {
    const r = await s.request("PUT", "/predictions/url-id", {
      id: "body-id",
      input: { text: "x" },
    });
    assertEquals(r.status, 422);
    assertEquals(r.body, {
      detail: [{
        loc: ["body", "id"],
        msg: "prediction ID must match the ID supplied in the URL",
        type: "value_error",
      }],
    });
    assertEquals(s.server.service.inFlight, []);
  } finally {
    await s.close();
  }
});

Deno.test("a POST reusing an in-flight id is rejected and not run twice", async () => {
  const hook = startReceiver();
  const s = await startFixture("async_echo");
  try {
    const first = await s.request("POST", "/predictions", {
      id: "dup-1",
      input: { text: "one", sleep: 0.5 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    }, ASYNC);
    assertEquals(first.status, 202);
    // a free slot exists (max 4), yet the reused id must not start a second run
    const again = await s.request("POST", "/predictions", {
      id: "dup-1",
      input: { text: "two" },
    }, ASYNC);
    assertEquals(again.status, 409);
    assertEquals(again.body.status, "failed");
    assertMatch(again.body.error, /dup-1/);
    const syncAgain = await s.request("POST", "/predictions", {
      id: "dup-1",
      input: { text: "three" },
    });
    assertEquals(syncAgain.status, 409);
    await waitFor(() => hook.received.length === 1);
    assertEquals(hook.received[0].json().output, "echo one");
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(hook.received.length, 1);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a PUT retry after completion runs the prediction again (no result cache)", async () => {
  const s = await startFixture("echo");
  try {
    const a = await s.request("PUT", "/predictions/again-1", { input: { text: "a" } });
    const b = await s.request("PUT", "/predictions/again-1", { input: { text: "b" } });
    assertEquals(a.body.output, "hello a");
    assertEquals(b.status, 200);
    assertEquals(b.body.output, "hello b");
  } finally {
    await s.close();
  }
});

Deno.test("a sync request with a webhook also gets webhooks, start first and completed last", async () => {
  const hook = startReceiver();
  const s = await startFixture("generator");
  try {
    const r = await s.request("POST", "/predictions", { input: {}, webhook: hook.url });
    assertEquals(r.body.status, "succeeded");
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    const bodies = hook.received.map((h) => h.json());
    assertEquals(bodies[0].status, "processing");
    assertEquals(bodies.at(-1).status, "succeeded");
    assertEquals(bodies.at(-1).output, ["token0", "token1", "token2"]);
    assert(bodies.every((b) => b.id === r.body.id));
  } finally {
    await s.close();
    await hook.close();
  }
});
