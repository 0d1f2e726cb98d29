// End to end on a real Docker engine: `cog serve` (Docker path) on an echo model, a code edit
// picked up on restart without rebuilding, SIGINT leaves no container, and `cog build` gives
// an image that answers predictions under a plain `docker run`.
//
// Needs a reachable Docker engine; the base image is made offline by
// scripts/e2e_base_image.sh (debootstrapped Debian with python3, tagged python:3.11-slim).
// Skips with a printed reason when no engine is reachable, unless COG_E2E_REQUIRE_DOCKER=1
// (CI), where that is a failure.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DOCKER, dockerSkipReason, ensureBaseImage, run } from "./_docker.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(REPO, "main.ts");

const created: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of created) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  }
});

/** A temporary directory removed when the test process ends. */
async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cog-e2e-" });
  created.push(dir);
  return dir;
}

const reason = await dockerSkipReason("tests/e2e/docker_test.ts");

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function writeModel(dir: string, greeting: string): void {
  Deno.writeTextFileSync(
    join(dir, "cog.yaml"),
    'build:\n  python_version: 3.11\npredict: "predict.py:Predictor"\n',
  );
  Deno.writeTextFileSync(
    join(dir, "predict.py"),
    `from cog import BasePredictor, Input\n\n\nclass Predictor(BasePredictor):\n    def predict(self, text: str = Input(description="name")) -> str:\n        return "${greeting} " + text\n`,
  );
}

async function predict(port: number, text: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}/predictions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: { text } }),
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return (body as { output: unknown }).output;
}

/** Starts `cog serve` and resolves once it prints "Serving at". */
async function startServe(dir: string, port: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "-p", String(port), "--progress", "plain"],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const dec = new TextDecoder();
  const collect = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) log += dec.decode(c);
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const deadline = Date.now() + 600_000;
  while (!log.includes(`Serving at http://127.0.0.1:${port}`)) {
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 250)),
    ]);
    if (exited || Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await done;
      throw new Error(`cog serve did not become ready:\n${log}`);
    }
  }
  return {
    child,
    log: () => log,
    async stop(): Promise<number> {
      child.kill("SIGINT");
      const status = await child.status;
      await done;
      return status.code;
    },
  };
}

async function containersFor(slug: string): Promise<string> {
  const r = await run(DOCKER, ["ps", "-a", "-q", "--filter", `name=cog-serve-${slug}-`]);
  return r.stdout.trim();
}

Deno.test({
  name:
    "cog serve runs the model in Docker, picks up an edit on restart without a rebuild, and SIGINT leaves no container",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const dir = join(await tempDir(), "e2e-echo");
    await Deno.mkdir(dir);
    writeModel(dir, "hello");
    const port = freePort();

    for (const greeting of ["hello", "hi"]) {
      writeModel(dir, greeting);
      const serve = await startServe(dir, port);
      let output: unknown;
      try {
        output = await predict(port, "world");
      } finally {
        assertEquals(await serve.stop(), 0, serve.log());
      }
      assertEquals(output, `${greeting} world`, serve.log());
      assertEquals(await containersFor("e2e-echo"), "", "a container was left behind");
      if (greeting === "hi") {
        // The edit shows without a rebuild: every build step came from the cache.
        assert(
          !/---> Running in|#\d+ \[[^\]]+\] (RUN|COPY)[^\n]*\n#\d+ DONE/.test(
            serve.log().split("Running cog serve")[0],
          ) ||
            serve.log().includes("Using cache") || serve.log().includes("CACHED"),
          serve.log(),
        );
      }
    }
    assertEquals(await containersFor("e2e-echo"), "", "a container was left behind");
    // Nothing holds the port any more.
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    l.close();
  },
});

Deno.test({
  name: "cog build makes a self-contained image that answers a prediction under a plain docker run",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const dir = join(await tempDir(), "e2e-built");
    await Deno.mkdir(dir);
    writeModel(dir, "hello");
    const tag = "cog-e2e-built-test";
    const built = await run(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "build",
      "-t",
      tag,
      "--progress",
      "plain",
    ], { cwd: dir });
    assertEquals(built.code, 0, built.stderr);
    assert(built.stderr.includes(`Image built as ${tag}`), built.stderr);

    const port = freePort();
    const name = `cog-e2e-built-${crypto.randomUUID().slice(0, 8)}`;
    const started = await run(DOCKER, [
      "run",
      "-d",
      "--rm",
      "--name",
      name,
      "-p",
      `127.0.0.1:${port}:5000`,
      tag,
    ]);
    assertEquals(started.code, 0, started.stderr);
    try {
      const deadline = Date.now() + 120_000;
      while (true) {
        const ok = await fetch(`http://127.0.0.1:${port}/health-check`).then((r) => r.json()).then(
          (b) => (b as { status?: string }).status === "READY",
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) {
          const logs = await run(DOCKER, ["logs", name]);
          throw new Error(`built image never became ready:\n${logs.stdout}${logs.stderr}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      assertEquals(await predict(port, "world"), "hello world");
    } finally {
      await run(DOCKER, ["rm", "-f", name]);
    }
  },
});

Deno.test({
  name: "cog run predicts with Docker on the project and on a built image, and leaves no container",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const dir = join(await tempDir(), "e2e-predict");
    await Deno.mkdir(dir);
    writeModel(dir, "hey");
    const fromProject = await run(Deno.execPath(), ["run", "-A", MAIN, "run", "-i", "text=you"], {
      cwd: dir,
    });
    assertEquals(fromProject.code, 0, fromProject.stderr);
    assertEquals(fromProject.stdout, "hey you\n");

    const tag = "cog-e2e-predict-test";
    const built = await run(Deno.execPath(), ["run", "-A", MAIN, "build", "-t", tag], { cwd: dir });
    assertEquals(built.code, 0, built.stderr);
    const elsewhere = await tempDir();
    const fromImage = await run(
      Deno.execPath(),
      ["run", "-A", MAIN, "run", tag, "-i", "text=img"],
      {
        cwd: elsewhere,
      },
    );
    assertEquals(fromImage.code, 0, fromImage.stderr);
    assertEquals(fromImage.stdout, "hey img\n");
    const invalid = await run(Deno.execPath(), ["run", "-A", MAIN, "run", tag, "-i", "nope=1"], {
      cwd: elsewhere,
    });
    assertEquals(invalid.code, 1);
    assert(invalid.stderr.includes('unknown input "nope"; valid inputs are: text'), invalid.stderr);
    assert(!invalid.stderr.includes("Starting Docker image"), "validated before starting");
    const left = await run(DOCKER, ["ps", "-a", "-q", "--filter", "name=cog-predict-"]);
    assertEquals(left.stdout.trim(), "", "a cog-predict container was left behind");
  },
});
