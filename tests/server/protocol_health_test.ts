// /health-check states: READY, BUSY, UNHEALTHY (user healthcheck(), sync and
// async, with Cog's error phrases), SETUP_FAILED, COG_SETUP_TIMEOUT.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, waitFor, writeProject } from "../_helpers.ts";

for (const fixture of ["healthcheck", "healthcheck_async"]) {
  Deno.test(`${fixture}: a passing healthcheck() is READY without user_healthcheck_error`, async () => {
    const s = await startFixture(fixture, { env: { HEALTHCHECK_MODE: "true" } });
    try {
      const h = await s.request("GET", "/health-check");
      assertEquals(h.status, 200);
      assertEquals(h.body.status, "READY");
      assertEquals("user_healthcheck_error" in h.body, false);
    } finally {
      await s.close();
    }
  });

  Deno.test(`${fixture}: healthcheck() returning False is UNHEALTHY with Cog's phrase, predictions still run`, async () => {
    const s = await startFixture(fixture, { env: { HEALTHCHECK_MODE: "false" } });
    try {
      const h = await s.request("GET", "/health-check");
      assertEquals(h.status, 200);
      assertEquals(h.body.status, "UNHEALTHY");
      assertMatch(
        h.body.user_healthcheck_error,
        /Healthcheck failed: user-defined healthcheck returned False/,
      );
      const p = await s.request("POST", "/predictions", { input: { text: "still" } });
      assertEquals(p.status, 200);
      assertEquals(p.body.output, "still");
    } finally {
      await s.close();
    }
  });

  Deno.test(`${fixture}: healthcheck() raising is UNHEALTHY with the exception type and message`, async () => {
    const s = await startFixture(fixture, { env: { HEALTHCHECK_MODE: "raise" } });
    try {
      const h = await s.request("GET", "/health-check");
      assertEquals(h.body.status, "UNHEALTHY");
      const expected = fixture === "healthcheck"
        ? /Healthcheck failed: RuntimeError: Critical system error/
        : /Healthcheck failed: ValueError: async check broke/;
      assertMatch(h.body.user_healthcheck_error, expected);
    } finally {
      await s.close();
    }
  });

  Deno.test(`${fixture}: a healthcheck() slower than 5 s is UNHEALTHY with the timeout phrase`, async () => {
    const s = await startFixture(fixture, { env: { HEALTHCHECK_MODE: "slow" } });
    try {
      const t0 = Date.now();
      const h = await s.request("GET", "/health-check");
      assertEquals(h.body.status, "UNHEALTHY");
      assertMatch(
        h.body.user_healthcheck_error,
        /Healthcheck failed: user-defined healthcheck timed out after 5(\.0)? seconds/,
      );
      assert(Date.now() - t0 < 12_000, "the health check gave up in time");
    } finally {
      await s.close();
    }
  });
}

Deno.test("healthcheck() returning None counts as healthy", async () => {
  const s = await startFixture("healthcheck", { env: { HEALTHCHECK_MODE: "none" } });
  try {
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
  }
});

Deno.test("concurrent health checks share one healthcheck() run", async () => {
  const s = await startFixture("healthcheck", { env: { HEALTHCHECK_MODE: "true" } });
  try {
    const all = await Promise.all(
      Array.from({ length: 10 }, () => s.request("GET", "/health-check")),
    );
    for (const h of all) assertEquals(h.body.status, "READY");
  } finally {
    await s.close();
  }
});

Deno.test("UNHEALTHY takes precedence over BUSY and clears when the check passes again", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": [
      "import os, time",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def predict(self, seconds: float = 0) -> str:",
      "        time.sleep(seconds)",
      "        return 'ok'",
      "    def healthcheck(self) -> bool:",
      "        return not os.path.exists('sick')",
    ].join("\n"),
  });
  const s = await startFixture("", { dir });
  try {
    await s.request("POST", "/predictions", { id: "hold", input: { seconds: 30 } }, {
      prefer: "respond-async",
    });
    assertEquals((await s.request("GET", "/health-check")).body.status, "BUSY");
    await Deno.writeTextFile(`${dir}/sick`, "");
    const sick = await s.request("GET", "/health-check");
    assertEquals(sick.body.status, "UNHEALTHY");
    await Deno.remove(`${dir}/sick`);
    assertEquals((await s.request("GET", "/health-check")).body.status, "BUSY");
    await s.request("POST", "/predictions/hold/cancel");
    await waitFor(
      async () => (await s.request("GET", "/health-check")).body.status === "READY",
      20_000,
    );
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("COG_SETUP_TIMEOUT fails a setup() that runs too long: SETUP_FAILED and 503", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": [
      "import time",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def setup(self):",
      "        print('slow setup')",
      "        time.sleep(60)",
      "    def predict(self) -> str:",
      "        return 'never'",
    ].join("\n"),
  });
  const s = await startFixture("", { dir, settings: { COG_SETUP_TIMEOUT: "1" }, waitSetup: false });
  try {
    assertEquals((await s.request("GET", "/health-check")).body.status, "STARTING");
    await waitFor(
      async () => (await s.request("GET", "/health-check")).body.status !== "STARTING",
      15_000,
    );
    const h = await s.request("GET", "/health-check");
    assertEquals(h.body.status, "SETUP_FAILED");
    assertEquals(h.body.setup.status, "failed");
    assertMatch(h.body.setup.logs, /timed out/);
    assert(typeof h.body.setup.completed_at === "string");
    const p = await s.request("POST", "/predictions", {});
    assertEquals(p.status, 503);
    assertMatch(p.body.error, /^Setup failed, so this server cannot run predictions/);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("COG_SETUP_TIMEOUT of 0 or junk means no timeout", async () => {
  for (const value of ["0", "soon"]) {
    const s = await startFixture("echo", { settings: { COG_SETUP_TIMEOUT: value } });
    try {
      assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
    } finally {
      await s.close();
    }
  }
});

Deno.test("health-check always answers 200 with version info, and the discovery doc is served while STARTING", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": [
      "import os, time",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def setup(self):",
      "        while not os.path.exists('go'):",
      "            time.sleep(0.02)",
      "    def predict(self) -> str:",
      "        return 'ok'",
    ].join("\n"),
  });
  const s = await startFixture("", { dir, waitSetup: false });
  try {
    const h = await s.request("GET", "/health-check");
    assertEquals(h.status, 200);
    assertEquals(h.body.status, "STARTING");
    assertEquals(typeof h.body.version.python_sdk, "string");
    assertEquals((await s.request("GET", "/")).body.predictions_url, "/predictions");
    await Deno.writeTextFile(`${dir}/go`, "");
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "READY");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});
