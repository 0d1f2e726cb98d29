// --watch: editing predict.py reloads the worker; a syntax error shows
// SETUP_FAILED with the traceback and the next save recovers; build changes
// say a rebuild is needed.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { spawnCliServer, startFixture, waitFor, writeProject } from "../_helpers.ts";

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

/** A predictor whose setup() counts its runs (setups.txt) and keeps state in `self`. */
function stateful(options: { weights?: string; body?: string; extra?: string } = {}): string {
  return [
    "from cog import BasePredictor",
    "class Predictor(BasePredictor):",
    "    def setup(self):",
    "        with open('setups.txt', 'a') as f:",
    "            f.write('setup\\n')",
    `        self.weights = ${JSON.stringify(options.weights ?? "loaded")}`,
    "    def predict(self, text: str = 'x') -> str:",
    `        ${options.body ?? "return 'v1 ' + self.weights"}`,
    ...(options.extra ? [options.extra] : []),
  ].join("\n");
}

async function setupRuns(dir: string): Promise<number> {
  return (await Deno.readTextFile(`${dir}/setups.txt`)).trim().split("\n").length;
}

Deno.test("--watch swaps an edited predict() in place: setup() does not run again and its state stays", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": stateful(),
  });
  const s = await startFixture("", { dir, watch: true });
  const output = async (input: Record<string, unknown> = {}) =>
    (await s.request("POST", "/predictions", { input })).body.output;
  try {
    assertEquals(await output(), "v1 loaded");
    await Deno.writeTextFile(
      `${dir}/predict.py`,
      stateful({ body: "return self.fmt(text) + ' ' + self.weights" }).replace(
        "    def predict(self, text: str = 'x')",
        "    def fmt(self, text):\n        return 'v2 ' + text.upper()\n" +
          "    def predict(self, text: str = 'x')",
      ),
    );
    await waitFor(async () => (await output()) === "v2 X loaded", 20_000, "the new predict()");
    assertEquals(await output({ text: "abc" }), "v2 ABC loaded");
    assertEquals(await setupRuns(dir), 1, "setup() ran once");
    assert(
      s.logs.some((l) =>
        /reloaded predict\.py:Predictor in place: .*setup\(\) did not run/.test(l)
      ),
      s.logs.join("\n"),
    );
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");

    // an edit to setup() runs it again, and the log says why
    await Deno.writeTextFile(`${dir}/predict.py`, stateful({ weights: "reloaded" }));
    await waitFor(async () => (await output()) === "v1 reloaded", 20_000, "setup() again");
    assertEquals(await setupRuns(dir), 2);
    assert(
      s.logs.some((l) => /reloading with setup\(\): setup\(\) or what it depends on/.test(l)),
      s.logs.join("\n"),
    );
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--watch: a new input from the swapped code is validated and documented at once", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": stateful(),
  });
  const s = await startFixture("", { dir, watch: true });
  try {
    await Deno.writeTextFile(
      `${dir}/predict.py`,
      stateful({ body: "return f'{text} {times}'" }).replace(
        "text: str = 'x')",
        "text: str = 'x', times: int = 1)",
      ),
    );
    await waitFor(
      async () => (await s.request("POST", "/predictions", { input: {} })).body.output === "x 1",
      20_000,
      "the new predict()",
    );
    const bad = await s.request("POST", "/predictions", { input: { times: "many" } });
    assertEquals(bad.status, 422);
    const schema = (await s.request("GET", "/openapi.json")).body;
    assert("times" in schema.components.schemas.Input.properties, "the new input is documented");
    assertEquals(await setupRuns(dir), 1);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog serve --no-docker --watch keeps setup() state across an edit to predict()", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": stateful(),
  });
  const cli = await spawnCliServer(dir, ["--watch"]);
  const output = async () =>
    await (await fetch(`${cli.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    })).json();
  try {
    assertEquals((await output()).output, "v1 loaded");
    await Deno.writeTextFile(
      `${dir}/predict.py`,
      stateful({ body: "return 'v2 ' + self.weights" }),
    );
    await waitFor(async () => (await output()).output === "v2 loaded", 20_000, "the new code");
    assertEquals(await setupRuns(dir), 1);
    assertMatch(cli.output(), /reloaded predict\.py:Predictor in place/);
    await fetch(`${cli.url}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel());
    assertEquals((await cli.exit()).code, 0, cli.output());
  } finally {
    try {
      cli.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await cli.exit();
    await Deno.remove(dir, { recursive: true });
  }
});
