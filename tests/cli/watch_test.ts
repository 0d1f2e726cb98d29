// --watch: editing predict.py reloads the worker; a syntax error shows
// SETUP_FAILED with the traceback and the next save recovers; build changes
// say a rebuild is needed.

import { assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, waitFor, writeProject } from "../_helpers.ts";

function predictor(body: string): string {
  return [
    "from cog import BasePredictor",
    "class Predictor(BasePredictor):",
    "    def predict(self, text: str = 'x') -> str:",
    `        ${body}`,
  ].join("\n");
}

Deno.test("--watch reloads the predictor after predict.py is edited, and recovers from a syntax error", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": predictor("return 'v1 ' + text"),
  });
  const s = await startFixture("", { dir, watch: true });
  const health = async () => (await s.request("GET", "/health-check")).body;
  try {
    assertEquals((await s.request("POST", "/predictions", { input: {} })).body.output, "v1 x");

    await Deno.writeTextFile(`${dir}/predict.py`, predictor("return 'v2 ' + text"));
    await waitFor(
      async () => {
        const r = await s.request("POST", "/predictions", { input: {} });
        return r.status === 200 && r.body.output === "v2 x";
      },
      20_000,
      "the edited predictor to answer",
    );

    await Deno.writeTextFile(`${dir}/predict.py`, predictor("return 'broken' +"));
    await waitFor(async () => (await health()).status === "SETUP_FAILED", 20_000, "SETUP_FAILED");
    const failed = await health();
    assertMatch(failed.setup.logs, /SyntaxError/);

    await Deno.writeTextFile(`${dir}/predict.py`, predictor("return 'v3 ' + text"));
    await waitFor(async () => (await health()).status === "READY", 20_000, "READY again");
    assertEquals((await s.request("POST", "/predictions", { input: {} })).body.output, "v3 x");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--watch lets a running prediction finish before reloading, showing STARTING meanwhile", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": [
      "import time",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def predict(self, seconds: float = 0) -> str:",
      "        time.sleep(seconds)",
      "        return 'old'",
    ].join("\n"),
  });
  const s = await startFixture("", { dir, watch: true });
  try {
    const running = s.request("POST", "/predictions", { input: { seconds: 1.5 } });
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "BUSY");
    await Deno.writeTextFile(
      `${dir}/predict.py`,
      predictor("return 'new'").replace("text: str = 'x'", "seconds: float = 0"),
    );
    await waitFor(
      async () => (await s.request("GET", "/health-check")).body.status === "STARTING",
      10_000,
    );
    const first = await running;
    assertEquals(first.body.status, "succeeded");
    assertEquals(first.body.output, "old");
    await waitFor(
      async () => (await s.request("GET", "/health-check")).body.status === "READY",
      20_000,
    );
    assertEquals((await s.request("POST", "/predictions", { input: {} })).body.output, "new");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--watch says a rebuild is needed when the build section of cog.yaml changes", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": predictor("return text"),
  });
  const s = await startFixture("", { dir, watch: true });
  try {
    await Deno.writeTextFile(
      `${dir}/cog.yaml`,
      'build:\n  python_version: "3.11"\n  system_packages: [ffmpeg]\nrun: "predict.py:Predictor"\n',
    );
    await waitFor(
      () => s.logs.some((l) => l.includes("rebuild needed")),
      10_000,
      "the rebuild notice",
    );
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});
