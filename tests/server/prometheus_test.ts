// GET /metrics: parse the Prometheus exposition and check counts after known traffic.

import { assert, assertEquals } from "../_assert.ts";
import { startFixture } from "../_helpers.ts";

/** Parses `name{labels} value` lines into a map keyed by `name{labels}`. */
function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert(match, `not exposition format: ${line}`);
    values.set(match[1] + (match[2] ?? ""), Number(match[3]));
  }
  return values;
}

Deno.test("GET /metrics counts predictions by final status and exposes duration, slots and setup", async () => {
  const s = await startFixture("raises");
  try {
    const before = await s.request("GET", "/metrics");
    assertEquals(before.status, 200);
    assertEquals(before.headers.get("content-type")?.startsWith("text/plain"), true);
    await s.request("POST", "/predictions", { input: {} });
    await s.request("POST", "/predictions", { input: {} });
    await s.request("POST", "/predictions", { input: { text: 5 } }); // 422: not a prediction
    const response = await fetch(`${s.url}/metrics`);
    const m = parse(await response.text());
    assertEquals(m.get('cog_predictions_total{kind="prediction",status="failed"}'), 2);
    assertEquals(m.get('cog_predictions_total{kind="prediction",status="succeeded"}'), undefined);
    assertEquals(m.get('cog_prediction_duration_seconds_count{kind="prediction"}'), 2);
    assertEquals(m.get('cog_prediction_duration_seconds_bucket{kind="prediction",le="+Inf"}'), 2);
    assertEquals(m.get("cog_predictions_in_flight"), 0);
    assertEquals(m.get("cog_predictions_queued"), 0);
    assertEquals(m.get('cog_slots{state="total"}'), 1);
    assert((m.get('cog_setup_duration_seconds{kind="prediction",result="succeeded"}') ?? -1) >= 0);
    assertEquals(m.get('cog_worker_restarts_total{kind="prediction"}'), 0);
  } finally {
    await s.close();
  }
});

Deno.test("GET /metrics reports an in-flight prediction while it runs", async () => {
  const s = await startFixture("slow");
  try {
    const pending = s.request("POST", "/predictions", { id: "m1", input: { seconds: 30 } });
    let m = new Map<string, number>();
    for (let i = 0; i < 200 && m.get("cog_predictions_in_flight") !== 1; i++) {
      m = parse(await (await fetch(`${s.url}/metrics`)).text());
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(m.get("cog_predictions_in_flight"), 1);
    assertEquals(m.get('cog_slots{state="busy"}'), 1);
    await s.request("POST", "/predictions/m1/cancel");
    assertEquals((await pending).body.status, "canceled");
    m = parse(await (await fetch(`${s.url}/metrics`)).text());
    assertEquals(m.get('cog_predictions_total{kind="prediction",status="canceled"}'), 1);
  } finally {
    await s.close();
  }
});

Deno.test("GET /_cog/openapi.json documents the server's own endpoints from their zod schemas", async () => {
  const s = await startFixture("echo");
  try {
    const { status, body } = await s.request("GET", "/_cog/openapi.json");
    assertEquals(status, 200);
    assertEquals(body.openapi, "3.0.2");
    for (const path of ["/health-check", "/shutdown", "/metrics", "/predictions/{id}/cancel"]) {
      assert(body.paths[path], `${path} is documented`);
    }
    const health = body.components.schemas.HealthReport;
    assertEquals(health.properties.status.enum.includes("DEFUNCT"), true);
    // The model's own document is unchanged.
    const model = await s.request("GET", "/openapi.json");
    assertEquals(model.body.info.title, "Cog");
    assertEquals((await s.request("POST", "/predictions/nope/cancel")).status, 404);
  } finally {
    await s.close();
  }
});
