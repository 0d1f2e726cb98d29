// Per-prediction logs, predict_time, user metrics (modes, dotted names,
// legacy emit_metric, name validation) and the request context.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, startReceiver, waitFor } from "../_helpers.ts";

Deno.test("user metrics merge with replace, incr and append, dotted names nest, emit_metric still works", async () => {
  const s = await startFixture("metrics");
  try {
    const r = await s.request("POST", "/predictions", {});
    assertEquals(r.body.status, "succeeded");
    const { predict_time, ...user } = r.body.metrics;
    assertEquals(typeof predict_time, "number");
    assert(predict_time >= 0);
    assertEquals(user, {
      temperature: 0.7,
      token_count: 3,
      timing: { preprocess: 0.25, model: { load: 1.5 } },
      steps: ["a", "b"],
      legacy_metric: 42,
    });
  } finally {
    await s.close();
  }
});

Deno.test("metrics reach webhooks, predict_time only once terminal", async () => {
  const hook = startReceiver();
  const s = await startFixture("metrics", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" } });
  try {
    await s.request("POST", "/predictions", { input: {}, webhook: hook.url });
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    const bodies = hook.received.map((h) => h.json());
    for (const b of bodies.slice(0, -1)) assertEquals("predict_time" in b.metrics, false);
    assertEquals(bodies.at(-1).metrics.token_count, 3);
    assertEquals(typeof bodies.at(-1).metrics.predict_time, "number");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("invalid metric names fail the prediction with Cog's message", async () => {
  const s = await startFixture("metrics");
  try {
    const cases: [string, RegExp][] = [
      ["predict_time", /'predict_time' is reserved/],
      ["cog.internal", /the 'cog\.' prefix is reserved/],
      ["1abc", /must start with a letter/],
      ["a..b", /consecutive dots/],
      ["a.b.c.d.e", /at most 4/],
      ["bad-name", /invalid character '-'/],
      ["double__under", /consecutive underscores/],
      ["trailing_", /must end with a letter or digit/],
      ["x".repeat(129), /128 characters or fewer/],
    ];
    for (const [name, message] of cases) {
      const r = await s.request("POST", "/predictions", { input: { bad: name } });
      assertEquals(r.status, 200);
      assertEquals(r.body.status, "failed", name);
      assertMatch(r.body.error, message);
    }
    assertEquals((await s.request("POST", "/predictions", {})).body.status, "succeeded");
  } finally {
    await s.close();
  }
});

Deno.test("context is passed to the predictor and is not echoed back", async () => {
  const s = await startFixture("context_echo");
  try {
    const r = await s.request("POST", "/predictions", {
      input: { tag: "c" },
      context: { user: "u1", trace: "abc" },
    });
    assertEquals(r.body.output, JSON.stringify({ trace: "abc", user: "u1" }));
    assertEquals(r.body.context, undefined);
    const none = await s.request("POST", "/predictions", { input: { tag: "n" } });
    assertEquals(none.body.output, "{}");
  } finally {
    await s.close();
  }
});

Deno.test("concurrent async predictions keep their own logs, metrics and context", async () => {
  const s = await startFixture("context_echo");
  try {
    const tags = ["a", "b", "c", "d"];
    const answers = await Promise.all(tags.map((tag, i) =>
      s.request("POST", "/predictions", {
        input: { tag, sleep: 0.1 * (4 - i) },
        context: { who: tag },
      })
    ));
    answers.forEach((r, i) => {
      const tag = tags[i];
      assertEquals(r.body.status, "succeeded");
      assertEquals(r.body.output, JSON.stringify({ who: tag }));
      assertEquals(r.body.logs, `begin ${tag}\nfinish ${tag}\n`);
      assertEquals(r.body.metrics.tag, tag);
      assertEquals(r.body.metrics.calls, 2);
    });
  } finally {
    await s.close();
  }
});

Deno.test("predict_time covers the prediction's run time", async () => {
  const s = await startFixture("slow");
  try {
    const r = await s.request("POST", "/predictions", { input: { seconds: 0.3 } });
    assert(r.body.metrics.predict_time >= 0.3, `predict_time ${r.body.metrics.predict_time}`);
    assert(r.body.metrics.predict_time < 30);
  } finally {
    await s.close();
  }
});

Deno.test("logs of a failed sync prediction are kept in the response (a Cog quirk fixed)", async () => {
  const s = await startFixture("raises");
  try {
    const r = await s.request("POST", "/predictions", {});
    assertEquals(r.body.status, "failed");
    assertMatch(r.body.logs, /about to fail\n/);
    assertMatch(r.body.logs, /Traceback/);
  } finally {
    await s.close();
  }
});
