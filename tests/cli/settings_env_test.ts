// Settings without Docker behave as inside the image: the server's own COG_* settings
// and the worker's environment come from the shell, then cog.yaml `environment:` (and
// `concurrency.max`), then -e, each over the one before. Also: a container started by
// `cog serve`/`cog run` (COG_QUIET_STARTUP) shows no banner of its own.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { spawnCliServer, startFixture, waitFor, writeProject } from "../_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

const PREDICT_PY = [
  "import os",
  "from cog import BasePredictor",
  "class Predictor(BasePredictor):",
  "    def predict(self, text: str = '') -> str:",
  "        return os.environ.get('GREETING', '-') + ' ' + str(len(text))",
].join("\n");

function project(environment: string[], extra = ""): Promise<string> {
  return writeProject({
    "cog.yaml": `run: "predict.py:Predictor"\nenvironment:\n${
      environment.map((e) => `  - ${e}\n`).join("")
    }${extra}`,
    "predict.py": PREDICT_PY,
  });
}

Deno.test("cog.yaml environment: sets the server's own settings over the shell's, and -e over both", async () => {
  const dir = await project(["COG_MAX_BODY_BYTES=2000", "COG_QUEUE_SIZE=3", "GREETING=yaml"]);
  const post = (s: Awaited<ReturnType<typeof startFixture>>, size: number) =>
    s.request("POST", "/predictions", { input: { text: "x".repeat(size) } });
  try {
    // The shell says 100 bytes and 7 queued requests; cog.yaml wins.
    const yaml = await startFixture("", {
      dir,
      settings: { COG_MAX_BODY_BYTES: "100", COG_QUEUE_SIZE: "7", GREETING: "shell" },
    });
    try {
      const ok = await post(yaml, 1000);
      assertEquals([ok.status, ok.body.output], [200, "yaml 1000"]);
      assertEquals((await post(yaml, 3000)).status, 413);
      assertEquals((await yaml.request("GET", "/health-check")).body.queue.capacity, 3);
    } finally {
      await yaml.close();
    }
    // -e wins over cog.yaml, for the server and for the model.
    const flag = await startFixture("", {
      dir,
      settings: { COG_MAX_BODY_BYTES: "100" },
      env: { COG_MAX_BODY_BYTES: "5000", COG_QUEUE_SIZE: "5", GREETING: "flag" },
    });
    try {
      const ok = await post(flag, 3000);
      assertEquals([ok.status, ok.body.output], [200, "flag 3000"]);
      assertEquals((await flag.request("GET", "/health-check")).body.queue.capacity, 5);
    } finally {
      await flag.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a setting only the shell has still applies; cog.yaml's COG_SETUP_TIMEOUT fails a slow setup", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\nenvironment:\n  - COG_SETUP_TIMEOUT=1\n',
    "predict.py": [
      "import time",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def setup(self):",
      "        time.sleep(30)",
      "    def predict(self) -> str:",
      "        return 'x'",
    ].join("\n"),
  });
  try {
    const s = await startFixture("", { dir, settings: { COG_QUEUE_SIZE: "2" }, waitSetup: false });
    try {
      assertEquals((await s.request("GET", "/health-check")).body.queue.capacity, 2);
      await waitFor(
        async () => (await s.request("GET", "/health-check")).body.status === "SETUP_FAILED",
        15_000,
        "setup to time out after cog.yaml's 1 s",
      );
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrency.max is the image's COG_MAX_CONCURRENCY: over the shell's, under -e", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\nconcurrency:\n  max: 3\n',
    "predict.py": [
      "import os",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    async def predict(self) -> str:",
      "        return os.environ['COG_MAX_CONCURRENCY']",
    ].join("\n"),
  });
  try {
    for (
      const [settings, env, expected] of [
        [{ COG_MAX_CONCURRENCY: "8" }, {}, "3"],
        [{ COG_MAX_CONCURRENCY: "8" }, { COG_MAX_CONCURRENCY: "2" }, "2"],
      ] as const
    ) {
      const s = await startFixture("", { dir, settings, env });
      try {
        const r = await s.request("POST", "/predictions", {});
        assertEquals(r.body.output, expected, JSON.stringify(r.body));
        const slots = s.logs.find((l) => l.includes("slot(s)"));
        assertMatch(slots ?? "", new RegExp(`setup complete; ${expected} slot\\(s\\)`));
      } finally {
        await s.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog serve --no-docker takes LOG_FORMAT from cog.yaml and the shell value loses", async () => {
  const dir = await project(["LOG_FORMAT=json"]);
  try {
    const cli = await spawnCliServer(dir, [], { LOG_FORMAT: "console" });
    try {
      await waitFor(() => cli.output().includes('"worker started'), 10_000, "the worker log line");
      const line = cli.output().split("\n").find((l) => l.includes("worker started"))!;
      assertEquals(JSON.parse(line).level, "info");
    } finally {
      await fetch(`${cli.url}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel());
      await cli.exit();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with COG_QUIET_STARTUP (set for containers cog starts) the server shows no banner and no cog.yaml warning", async () => {
  const dir = await writeProject({
    "cog.yaml": 'predict: "predict.py:Predictor"\n',
    "predict.py": PREDICT_PY,
  });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  try {
    for (const quiet of [true, false]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "serve", "--no-docker", "-p", String(port)],
        cwd: dir,
        env: quiet ? { COG_QUIET_STARTUP: "1", NO_COLOR: "1" } : { NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      await waitFor(
        () =>
          fetch(`http://127.0.0.1:${port}/health-check`).then((r) => r.json()).then(
            (b) => b.status === "READY",
            () => false,
          ),
        30_000,
        "the server",
      );
      await fetch(`http://127.0.0.1:${port}/shutdown`, { method: "POST" }).then((r) =>
        r.body?.cancel()
      );
      assertEquals((await child.status).code, 0);
      const text = await stderr;
      const warnings = text.split('deprecated field "predict"').length - 1;
      if (quiet) {
        assert(!text.includes("Serving at"), text);
        assertEquals(warnings, 0, text);
      } else {
        assertMatch(text, new RegExp(`Serving at http://127\\.0\\.0\\.1:${port}\n`));
        assertEquals(warnings, 1, text);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog run prints each cog.yaml warning once", async () => {
  const dir = await writeProject({
    "cog.yaml": 'predict: "predict.py:Predictor"\nbuild:\n  python_version: "3.11"\n' +
      '  python_packages: ["six==1.0"]\n',
    "predict.py": PREDICT_PY,
  });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "run", "--no-docker", "-i", "text=ab"],
      cwd: dir,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(new TextDecoder().decode(out.stdout), "- 2\n");
    assertEquals(stderr.split('deprecated field "predict"').length - 1, 1, stderr);
    assertEquals(stderr.split('deprecated field "build.python_packages"').length - 1, 1, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog serve with Docker starts its container with COG_QUIET_STARTUP=1 before the user's -e values", async () => {
  const { serveWithDocker } = await import("../../src/cli/_serve_docker.ts");
  const { fakeDocker } = await import("./_fake_docker.ts");
  const dir = await project(["GREETING=yaml"]);
  const binary = `${dir}/fake-cog-binary`;
  await Deno.writeTextFile(binary, "");
  const docker = fakeDocker({ run: () => ({ code: 1, stderrTail: "boom\n" }) });
  const lines: string[] = [];
  try {
    const code = await serveWithDocker({ port: 0, env: ["GREETING=flag"] }, {
      cwd: dir,
      docker,
      handleSignals: false,
      runtime: {
        kind: "compiled",
        binary,
        pythonDir: new URL("../../python", import.meta.url).pathname,
      },
      env: { get: () => undefined },
      output: {
        info: (m) => lines.push(m),
        warn: (m) => lines.push(m),
        error: (m) => lines.push(m),
        success: (m) => lines.push(m),
        blank: () => {},
      },
    });
    assertEquals(code, 1, lines.join("\n"));
    const run = docker.calls.find((c) => c[0] === "run")!;
    const env = run.flatMap((a, i) => run[i - 1] === "-e" ? [a] : []);
    assert(env.includes("COG_QUIET_STARTUP=1"), run.join(" "));
    assert(env.indexOf("COG_QUIET_STARTUP=1") < env.indexOf("GREETING=flag"), run.join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inside an image (predictor stubs in the environment) cog.yaml is not laid again over docker run -e", async () => {
  const dir = await project(["COG_MAX_BODY_BYTES=2000", "GREETING=yaml"]);
  try {
    // What `docker run -e COG_MAX_BODY_BYTES=5000 <image>` gives the server: the image's ENV
    // (here only the stub) with the -e value over it.
    const s = await startFixture("", {
      dir,
      settings: { COG_PREDICT_TYPE_STUB: "predict.py:Predictor", COG_MAX_BODY_BYTES: "5000" },
    });
    try {
      const r = await s.request("POST", "/predictions", { input: { text: "x".repeat(3000) } });
      assertEquals(r.status, 200);
      assert(r.body.output !== "yaml 3000", "cog.yaml's environment was laid over the image's");
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
