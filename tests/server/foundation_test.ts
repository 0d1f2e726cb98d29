// The foundation slice against the real server and a real Python worker:
// response shapes, health states, validation, failures, generators, async,
// subprocess logs, function predictors, OpenAPI and discovery.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { FIXTURES, spawnCliServer, startFixture, waitFor, writeProject } from "../_helpers.ts";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/;

Deno.test("POST /predictions returns a full Cog prediction object for the echo predictor", async () => {
  const s = await startFixture("echo");
  try {
    const { status, body } = await s.request("POST", "/predictions", { input: { text: "world" } });
    assertEquals(status, 200);
    assertEquals(body.status, "succeeded");
    assertEquals(body.output, "hello world");
    assertEquals(body.input, { text: "world" });
    assertEquals(body.error, null);
    assertEquals(body.logs, "");
    assertMatch(body.id, /^pred_[0-9a-f]+$/);
    assertEquals(typeof body.metrics.predict_time, "number");
    for (const key of ["created_at", "started_at", "completed_at"]) assertMatch(body[key], ISO);
    assert(body.created_at <= body.started_at && body.started_at <= body.completed_at);
  } finally {
    await s.close();
  }
});

Deno.test("a client-supplied id is kept in the response", async () => {
  const s = await startFixture("echo");
  try {
    const { body } = await s.request("POST", "/predictions", {
      id: "my-id-1",
      input: { text: "x" },
    });
    assertEquals(body.id, "my-id-1");
  } finally {
    await s.close();
  }
});

Deno.test("typed inputs take Python defaults when omitted and keep their JSON types", async () => {
  const s = await startFixture("typed");
  try {
    const a = await s.request("POST", "/predictions", { input: {} });
    assertEquals(a.status, 200);
    assertEquals(a.body.output, {
      text: "hi",
      count: 5,
      scale: 1.5,
      flag: false,
      mode: "fast",
      code: "ab12",
    });
    const b = await s.request("POST", "/predictions", {
      input: { text: "yo", count: 10, scale: 2, flag: true, mode: "slow", code: "z9", extra: 1 },
    });
    assertEquals(b.body.status, "succeeded");
    assertEquals(b.body.output, {
      text: "yo",
      count: 10,
      scale: 2,
      flag: true,
      mode: "slow",
      code: "z9",
    });
    assertEquals(b.body.input.extra, undefined, "unknown inputs are stripped");
  } finally {
    await s.close();
  }
});

Deno.test("invalid inputs get 422 with Cog's detail envelope naming each input", async () => {
  const s = await startFixture("typed");
  try {
    const { status, body } = await s.request("POST", "/predictions", {
      input: { count: 11, scale: "big", mode: "medium", code: "123", text: "" },
    });
    assertEquals(status, 422);
    const byField = Object.fromEntries(
      body.detail.map((d: { loc: string[]; msg: string; type: string }) => [d.loc[2], d]),
    );
    for (const field of ["count", "scale", "mode", "code", "text"]) {
      assertEquals(byField[field].loc, ["body", "input", field]);
      assertEquals(byField[field].type, "value_error");
    }
    assertEquals(byField.count.msg, "11 is greater than the maximum of 10");
    assertEquals(byField.scale.msg, '"big" is not of type "number"');
  } finally {
    await s.close();
  }
});

Deno.test("a missing required input gets 422 Field required", async () => {
  const s = await startFixture("echo");
  try {
    const { status, body } = await s.request("POST", "/predictions", { input: {} });
    assertEquals(status, 422);
    assertEquals(body, {
      detail: [{
        loc: ["body", "input", "text"],
        msg: "Field required",
        type: "value_error.missing",
      }],
    });
    const wrong = await s.request("POST", "/predictions", { input: { text: 5 } });
    assertEquals(wrong.status, 422);
    assertEquals(wrong.body.detail[0].msg, '5 is not of type "string"');
  } finally {
    await s.close();
  }
});

Deno.test("health-check reports STARTING during setup, then READY with the setup logs", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": [
      "import time",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def setup(self):",
      "        print('warming up')",
      "        while not __import__('os').path.exists('go'):",
      "            time.sleep(0.02)",
      "    def predict(self) -> str:",
      "        return 'ok'",
    ].join("\n"),
  });
  const s = await startFixture("", { dir, waitSetup: false });
  try {
    const starting = await s.request("GET", "/health-check");
    assertEquals(starting.body.status, "STARTING");
    assertEquals(starting.body.setup.status, "starting");
    const early = await s.request("POST", "/predictions", {});
    assertEquals(early.status, 503);
    assertEquals(early.body.status, "failed");
    assertMatch(early.body.error, /Setup has not finished yet/);
    const openapi = await s.request("GET", "/openapi.json");
    assertEquals(openapi.status, 503);
    await Deno.writeTextFile(`${dir}/go`, "");
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "READY");
    const ready = await s.request("GET", "/health-check");
    assertEquals(ready.body.setup.status, "succeeded");
    assertEquals(ready.body.setup.logs, "warming up\n");
    assertMatch(ready.body.setup.completed_at, ISO);
    assertEquals("user_healthcheck_error" in ready.body, false);
    const ok = await s.request("POST", "/predictions");
    assertEquals(ok.body.output, "ok");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setup() raising gives SETUP_FAILED with the setup logs and traceback, and 503s", async () => {
  const s = await startFixture("setup_fails");
  try {
    const health = await s.request("GET", "/health-check");
    assertEquals(health.body.status, "SETUP_FAILED");
    assertEquals(health.body.setup.status, "failed");
    assertMatch(health.body.setup.logs, /loading\n/);
    assertMatch(health.body.setup.logs, /RuntimeError: boom/);
    assertMatch(health.body.setup.logs, /Traceback/);
    const predict = await s.request("POST", "/predictions", { input: { text: "x" } });
    assertEquals(predict.status, 503);
  } finally {
    await s.close();
  }
});

Deno.test("predict() raising fails the prediction with the error and logs, and the server keeps serving", async () => {
  const s = await startFixture("raises");
  try {
    const { status, body } = await s.request("POST", "/predictions", { input: {} });
    assertEquals(status, 200);
    assertEquals(body.status, "failed");
    assertMatch(body.error, /ValueError: this is a value error$/);
    assertMatch(body.logs, /about to fail\n/);
    assertEquals(body.output, null);
    const again = await s.request("POST", "/predictions", { input: {} });
    assertEquals(again.body.status, "failed");
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
  }
});

Deno.test("a generator predictor returns every yielded value as an array, with its prints as logs", async () => {
  const s = await startFixture("generator");
  try {
    const { body } = await s.request("POST", "/predictions", { input: { prefix: "t" } });
    assertEquals(body.status, "succeeded");
    assertEquals(body.output, ["t0", "t1", "t2"]);
    assertEquals(body.logs, "yielding 0\nyielding 1\nyielding 2\n");
  } finally {
    await s.close();
  }
});

Deno.test("an async predictor runs and its prints land on its own prediction", async () => {
  const s = await startFixture("async_echo");
  try {
    const [a, b] = await Promise.all([
      s.request("POST", "/predictions", { input: { text: "a", sleep: 0.3 } }),
      s.request("POST", "/predictions", { input: { text: "b", sleep: 0.1 } }),
    ]);
    assertEquals(a.body.output, "echo a");
    assertEquals(b.body.output, "echo b");
    assertEquals(a.body.logs, "start a\nend a\n");
    assertEquals(b.body.logs, "start b\nend b\n");
  } finally {
    await s.close();
  }
});

Deno.test("output from print, a subprocess and a raw fd write all come back as the prediction's logs", async () => {
  const s = await startFixture("subprocess_print");
  try {
    const { body } = await s.request("POST", "/predictions", {});
    assertEquals(body.status, "succeeded");
    assertEquals(body.output, "ok");
    for (const line of ["from print\n", "from child\n", "raw fd\n"]) {
      assert(body.logs.includes(line), `logs ${JSON.stringify(body.logs)} lack ${line}`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("a plain function predictor works (run: predict.py:predict)", async () => {
  const s = await startFixture("function_predictor");
  try {
    const { body } = await s.request("POST", "/predictions", { input: { text: "fn" } });
    assertEquals(body.output, "hello fn");
    const defaulted = await s.request("POST", "/predictions", {});
    assertEquals(defaulted.body.output, "hello world");
  } finally {
    await s.close();
  }
});

Deno.test("GET /openapi.json returns the model's schema and GET / the discovery document", async () => {
  const s = await startFixture("typed");
  try {
    const { status, body } = await s.request("GET", "/openapi.json");
    assertEquals(status, 200);
    assertEquals(body.openapi, "3.0.2");
    const input = body.components.schemas.Input;
    assertEquals(input.properties.count, {
      title: "Count",
      type: "integer",
      default: 5,
      minimum: 1,
      maximum: 10,
      "x-order": 1,
    });
    assertEquals(input.properties.mode.allOf, [{ $ref: "#/components/schemas/mode" }]);
    assertEquals(body.components.schemas.mode.enum, ["fast", "slow"]);
    assertEquals(body.components.schemas.Output.title, "Output");
    const root = await s.request("GET", "/");
    assertEquals(root.body.predictions_url, "/predictions");
    assertEquals(root.body.openapi_url, "/openapi.json");
    assertEquals(root.body.trainings_url, undefined);
  } finally {
    await s.close();
  }
});

Deno.test("unknown paths are 404 and wrong methods 405", async () => {
  const s = await startFixture("echo");
  try {
    assertEquals((await s.request("GET", "/nope")).status, 404);
    assertEquals((await s.request("GET", "/predictions")).status, 405);
    assertEquals((await s.request("DELETE", "/predictions/abc")).status, 405);
    assertEquals((await s.request("GET", "/predictions/abc")).status, 404, "an unknown id");
  } finally {
    await s.close();
  }
});

Deno.test("a Secret input is masked in the echoed input and the model still gets the value", async () => {
  const s = await startFixture("secret");
  try {
    const { body } = await s.request("POST", "/predictions", { input: { token: "hunter2" } });
    assertEquals(body.output, true);
    assertEquals(body.input, { token: "**********" });
    assertEquals(body.logs, "token is **********\n");
  } finally {
    await s.close();
  }
});

Deno.test("the server runs from the CLI on a fixture and POST /shutdown exits 0 with the worker reaped", async () => {
  const cli = await spawnCliServer(`${FIXTURES}echo`);
  const r = await fetch(`${cli.url}/predictions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: { text: "cli" } }),
  });
  assertEquals((await r.json()).output, "hello cli");
  const workerPid = cli.workerPid();
  assert(workerPid > 0, "the worker pid was logged");
  const shutdown = await fetch(`${cli.url}/shutdown`, { method: "POST" });
  assertEquals(await shutdown.json(), {});
  const status = await cli.exit();
  assertEquals(status.code, 0, cli.output());
  let alive = true;
  try {
    Deno.kill(workerPid, "SIGCONT");
  } catch {
    alive = false;
  }
  assertEquals(alive, false, "the worker process is gone");
});
