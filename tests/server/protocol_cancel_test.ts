// Cancellation against the real server: sync sleep, busy loop, async await,
// queued predictions, repeated and unknown cancels, client disconnects.

import { assert, assertEquals } from "../_assert.ts";
import { startFixture, startReceiver, waitFor } from "../_helpers.ts";

const ASYNC = { prefer: "respond-async" };

/** Waits until the prediction has printed something (it is inside predict()). */
function running(
  s: { server: { service: { get(id: string): { logs(): string } | undefined } } },
  id: string,
) {
  return waitFor(() => (s.server.service.get(id)?.logs() ?? "") !== "", 10_000, `${id} to run`);
}

Deno.test("cancel interrupts time.sleep in a sync predictor and the sync request returns canceled", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    const t0 = Date.now();
    const pending = s.request("POST", "/predictions", {
      id: "sleep-1",
      input: { seconds: 30 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await running(s, "sleep-1");
    const cancel = await s.request("POST", "/predictions/sleep-1/cancel");
    assertEquals(cancel.status, 200);
    assertEquals(cancel.body, {});
    const r = await pending;
    assertEquals(r.status, 200);
    assertEquals(r.body.status, "canceled");
    assertEquals(r.body.id, "sleep-1");
    assertEquals(typeof r.body.metrics.predict_time, "number");
    assert(Date.now() - t0 < 20_000, "cancel did not wait for the sleep");
    await waitFor(() => hook.received.length === 1);
    assertEquals(hook.received[0].json().status, "canceled");
    // the worker is fine afterwards
    const next = await s.request("POST", "/predictions", { input: { seconds: 0 } });
    assertEquals(next.body.output, "woke up");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("cancel interrupts a pure-Python busy loop", async () => {
  const s = await startFixture("busy");
  try {
    const pending = s.request("POST", "/predictions", { id: "busy-1" }, ASYNC);
    assertEquals((await pending).status, 202);
    await running(s, "busy-1");
    const prediction = s.server.service.get("busy-1")!;
    assertEquals((await s.request("POST", "/predictions/busy-1/cancel")).status, 200);
    await waitFor(() => prediction.isTerminal, 20_000, "the busy loop to stop");
    assertEquals(prediction.status, "canceled");
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
  }
});

Deno.test("cancel interrupts an await in an async predictor without touching its neighbours", async () => {
  const hook = startReceiver();
  const s = await startFixture("async_echo");
  try {
    const send = (id: string, sleep: number) =>
      s.request("POST", "/predictions", {
        id,
        input: { text: id, sleep },
        webhook: hook.url,
        webhook_events_filter: ["completed"],
      }, ASYNC);
    assertEquals((await send("a-long", 30)).status, 202);
    assertEquals((await send("a-short", 0.5)).status, 202);
    await running(s, "a-long");
    assertEquals((await s.request("POST", "/predictions/a-long/cancel")).status, 200);
    await waitFor(() => hook.received.length === 2, 20_000);
    const byId = Object.fromEntries(hook.received.map((h) => [h.json().id, h.json()]));
    assertEquals(byId["a-long"].status, "canceled");
    assertEquals(byId["a-long"].logs, "start a-long\n");
    assertEquals(byId["a-short"].status, "succeeded");
    assertEquals(byId["a-short"].output, "echo a-short");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("repeated cancels are harmless, a finished id answers 200 {} and changes nothing, an unknown id gets 404 {}", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    await s.request("POST", "/predictions", {
      id: "rep-1",
      input: { seconds: 30 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    }, ASYNC);
    await running(s, "rep-1");
    const answers = await Promise.all(
      [1, 2, 3].map(() => s.request("POST", "/predictions/rep-1/cancel")),
    );
    for (const a of answers) assertEquals(a.status, 200);
    await waitFor(() => hook.received.length === 1, 20_000);
    assertEquals(hook.received[0].json().status, "canceled");
    const before = await s.request("GET", "/predictions/rep-1");
    const finished = await s.request("POST", "/predictions/rep-1/cancel");
    assertEquals(finished.status, 200);
    assertEquals(finished.body, {});
    assertEquals((await s.request("GET", "/predictions/rep-1")).body, before.body);
    const unknown = await s.request("POST", "/predictions/never-existed/cancel");
    assertEquals(unknown.status, 404);
    assertEquals(unknown.body, {});
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(hook.received.length, 1, "one terminal webhook");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a second cancel while the first is pending still answers 200", async () => {
  const s = await startFixture("slow");
  try {
    await s.request("POST", "/predictions", { id: "twice", input: { seconds: 30 } }, ASYNC);
    await running(s, "twice");
    const p = s.server.service.get("twice")!;
    const first = await s.request("POST", "/predictions/twice/cancel");
    const second = p.isTerminal ? null : await s.request("POST", "/predictions/twice/cancel");
    assertEquals(first.status, 200);
    if (second) assertEquals(second.status, 200);
    await waitFor(() => p.isTerminal, 20_000);
    assertEquals(p.status, "canceled");
  } finally {
    await s.close();
  }
});

Deno.test("a sync client that disconnects cancels its prediction", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    const abort = new AbortController();
    const pending = fetch(`${s.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "gone-1",
        input: { seconds: 30 },
        webhook: hook.url,
        webhook_events_filter: ["completed"],
      }),
      signal: abort.signal,
    }).catch((e) => e);
    await running(s, "gone-1");
    abort.abort();
    assert((await pending) instanceof Error);
    await waitFor(() => hook.received.length === 1, 20_000, "the canceled webhook");
    assertEquals(hook.received[0].json().status, "canceled");
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "READY");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("an async prediction is not canceled when its creating connection closes", async () => {
  const s = await startFixture("slow");
  try {
    const r = await s.request(
      "POST",
      "/predictions",
      { id: "stay-1", input: { seconds: 0.5 } },
      ASYNC,
    );
    assertEquals(r.status, 202);
    const p = s.server.service.get("stay-1")!;
    await waitFor(() => p.isTerminal);
    assertEquals(p.status, "succeeded");
  } finally {
    await s.close();
  }
});

Deno.test("a queued prediction can be canceled before it starts and never runs", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow", { settings: { COG_QUEUE_SIZE: "2" } });
  try {
    await s.request("POST", "/predictions", { id: "q-run", input: { seconds: 30 } }, ASYNC);
    const queued = await s.request("POST", "/predictions", {
      id: "q-wait",
      input: { seconds: 0 },
      webhook: hook.url,
    }, ASYNC);
    assertEquals(queued.status, 202);
    assertEquals(s.server.service.queueDepth, 1);
    assertEquals((await s.request("POST", "/predictions/q-wait/cancel")).status, 200);
    await waitFor(() => hook.received.some((h) => h.json().status === "canceled"));
    assertEquals(s.server.service.queueDepth, 0);
    assertEquals(hook.received.at(-1)!.json().logs, "");
    assertEquals((await s.request("POST", "/predictions/q-run/cancel")).status, 200);
    await waitFor(() => s.server.service.inFlight.length === 0, 20_000);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("POST /predictions/{id}/cancel cancels a training too (one id space)", async () => {
  const s = await startFixture("train_basic");
  try {
    await s.request("POST", "/trainings", { id: "tr-c", input: { sleep: 30 } }, ASYNC);
    await running(s, "tr-c");
    const p = s.server.service.get("tr-c")!;
    assertEquals((await s.request("POST", "/predictions/tr-c/cancel")).status, 200);
    await waitFor(() => p.isTerminal, 20_000);
    assertEquals(p.status, "canceled");
  } finally {
    await s.close();
  }
});
