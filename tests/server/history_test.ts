// Durable predictions: GET /predictions/{id} and GET /trainings/{id} on the
// real server (running, ended, expired, unknown, evicted, a large file output
// kept on disk), idempotent cancel, and the PredictionHistory registry itself
// (retention, bound, pagination, replacement) with a controlled clock.

import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { startFixture, waitFor } from "../_helpers.ts";
import { PredictionHistory } from "../../src/server/history.ts";
import { readSettings } from "../../src/cli/server.ts";
import { Prediction } from "../../src/server/prediction.ts";

const ASYNC = { prefer: "respond-async" };

Deno.test("GET /predictions/{id} shows a running prediction, then its final state, in the shape of the other endpoints", async () => {
  const s = await startFixture("slow");
  try {
    const created = await s.request("POST", "/predictions", {
      id: "held",
      input: { seconds: 30 },
    }, ASYNC);
    assertEquals(created.status, 202);
    await waitFor(() => s.server.service.get("held")?.logs().startsWith("sleeping") === true);
    const running = await s.request("GET", "/predictions/held");
    assertEquals(running.status, 200);
    assertEquals(running.headers.get("content-type"), "application/json");
    assertEquals(
      [running.body.id, running.body.status, running.body.output, running.body.logs],
      ["held", "processing", null, "sleeping 30.0\n"],
    );
    assertEquals(Object.keys(running.body).sort(), Object.keys(created.body).sort());

    assertEquals((await s.request("POST", "/predictions/held/cancel")).status, 200);
    await waitFor(async () =>
      (await s.request("GET", "/predictions/held")).body.status !== "processing"
    );
    const ended = await s.request("GET", "/predictions/held");
    assertEquals(ended.body.status, "canceled");
    assert(ended.body.completed_at !== null);
    // Canceling again changes nothing and still answers 200.
    assertEquals((await s.request("POST", "/predictions/held/cancel")).status, 200);
    assertEquals((await s.request("GET", "/predictions/held")).body, ended.body);
  } finally {
    await s.close();
  }
});

Deno.test("a sync prediction can be read back by id after its response, identical to it", async () => {
  const s = await startFixture("echo");
  try {
    const sync = await s.request("POST", "/predictions", { id: "e1", input: { text: "x" } });
    const read = await s.request("GET", "/predictions/e1");
    assertEquals([read.status, read.body], [200, sync.body]);
    const served = await s.request("POST", "/predictions", { input: { text: "generated" } });
    assertEquals(
      (await s.request("GET", `/predictions/${served.body.id}`)).body.output,
      "hello generated",
    );
    assertEquals((await s.request("GET", "/predictions/unknown")).status, 404);
    assertEquals((await s.request("GET", "/predictions/unknown")).body, { detail: "Not Found" });
    assertEquals((await s.request("GET", "/trainings/e1")).status, 404, "not a training");
  } finally {
    await s.close();
  }
});

Deno.test("an ended prediction expires after COG_PREDICTION_RETENTION and the oldest go past COG_PREDICTION_HISTORY", async () => {
  const s = await startFixture("echo", {
    settings: { COG_PREDICTION_RETENTION: "0.3", COG_PREDICTION_HISTORY: "2" },
  });
  try {
    for (const id of ["h1", "h2", "h3"]) {
      await s.request("POST", "/predictions", { id, input: { text: id } });
    }
    assertEquals((await s.request("GET", "/predictions/h1")).status, 404, "evicted (oldest)");
    assertEquals((await s.request("GET", "/predictions/h2")).status, 200);
    assertEquals((await s.request("GET", "/predictions/h3")).status, 200);
    await waitFor(async () => (await s.request("GET", "/predictions/h3")).status === 404, 5_000);
    assertEquals((await s.request("GET", "/predictions/h2")).status, 404, "expired");
    assertEquals((await s.request("POST", "/predictions/h2/cancel")).status, 404);
  } finally {
    await s.close();
  }
});

Deno.test("GET /trainings/{id} reads trainings back", async () => {
  const s = await startFixture("train_basic");
  try {
    const r = await s.request("PUT", "/trainings/t1", { input: { steps: 2, sleep: 0 } });
    assertEquals(r.body.status, "succeeded");
    const read = await s.request("GET", "/trainings/t1");
    assertEquals([read.status, read.body], [200, r.body]);
    assertEquals((await s.request("GET", "/predictions/t1")).status, 404, "not a prediction");
  } finally {
    await s.close();
  }
});

Deno.test("a large file output stays readable by id after the sync response (kept on disk, not in memory twice)", async () => {
  const s = await startFixture("big_output");
  const dir = await Deno.makeTempDir();
  try {
    const sync = await fetch(`${s.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "big", input: { mib: 2, dir } }),
    });
    const first = await sync.json();
    assertEquals(first.status, "succeeded");
    const read = await (await fetch(`${s.url}/predictions/big`)).json();
    assertEquals(read.output.length, first.output.length);
    assert(read.output === first.output, "the same data URL");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function prediction(id: string, kind: "prediction" | "training" = "prediction"): Prediction {
  return new Prediction({
    id,
    kind,
    input: {},
    publicInput: {},
    context: {},
    webhook: null,
    webhookEvents: [],
    mode: "async",
    arrayOutput: false,
    now: new Date(0),
    traceHeaders: {},
  });
}

Deno.test("PredictionHistory keeps running predictions, expires ended ones after the retention, drops the oldest over the bound", () => {
  let now = 0;
  const history = new PredictionHistory({ retentionMs: 1000, maxEntries: 3, now: () => now });
  const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => prediction(id));
  history.add(a);
  history.add(b);
  history.add(c);
  a.toSucceeded(false, new Date(0));
  now = 5000;
  assertEquals(history.get("a"), undefined, "ended 5 s ago");
  assertEquals(history.get("b"), b, "still running: never expires");
  history.add(d);
  assertEquals(history.size, 3);
  history.add(prediction("e"));
  assertEquals(history.get("b"), undefined, "the oldest went over the bound");
  assertEquals(history.get("d"), d);
  const again = prediction("d");
  history.add(again);
  assertEquals(history.get("d"), again, "a new prediction with a retained id replaces it");
  assertThrows(() => new PredictionHistory({ retentionMs: -1, maxEntries: 1 }), /must be >= 0/);
});

Deno.test("PredictionHistory pages newest first with a cursor stable under new arrivals", () => {
  const history = new PredictionHistory({ retentionMs: 1000, maxEntries: 100 });
  for (const id of ["p1", "p2", "t1", "p3"]) {
    history.add(prediction(id, id.startsWith("t") ? "training" : "prediction"));
  }
  const first = history.page({ limit: 2, kind: "prediction" });
  assertEquals(first.items.map((p) => p.id), ["p3", "p2"]);
  history.add(prediction("p4"));
  const second = history.page({ limit: 2, kind: "prediction", before: first.next! });
  assertEquals(second.items.map((p) => p.id), ["p1"]);
  assertEquals(second.next, null);
  assertEquals(history.page({ limit: 10 }).items.map((p) => p.id), ["p4", "p3", "t1", "p2", "p1"]);
});

Deno.test("PredictionHistory holds an ended prediction's files only when its output is kept on disk", async () => {
  const history = new PredictionHistory({ retentionMs: 1000, maxEntries: 10 });
  const plain = prediction("plain");
  history.add(plain);
  plain.addOutput("small");
  plain.toSucceeded(false, new Date());
  await plain.terminal;
  await new Promise((resolve) => setTimeout(resolve, 0));
  let released = false;
  plain.whenReleased().then(() => released = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert(released, "nothing to keep: the files are given back at the end");
  const running = prediction("running");
  history.add(running);
  let runningReleased = false;
  running.whenReleased().then(() => runningReleased = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert(!runningReleased, "held while it runs");
  history.clear();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert(runningReleased, "given back when dropped");
});

Deno.test("the retention settings default to an hour and 1000 predictions and are read from the environment", () => {
  const defaults = readSettings({});
  assertEquals([defaults.predictionRetentionMs, defaults.predictionHistory], [3600_000, 1000]);
  const set = readSettings({ COG_PREDICTION_RETENTION: "1.5", COG_PREDICTION_HISTORY: "7" });
  assertEquals([set.predictionRetentionMs, set.predictionHistory], [1500, 7]);
  const odd = readSettings({ COG_PREDICTION_RETENTION: "-4", COG_PREDICTION_HISTORY: "nope" });
  assertEquals([odd.predictionRetentionMs, odd.predictionHistory], [0, 1000]);
});
