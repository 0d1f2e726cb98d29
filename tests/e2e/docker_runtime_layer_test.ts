// The shared runtime layer on a real Docker engine: two different models built by the
// same cog carry the very same runtime layer (same digest, right after the base image's
// layers), the layer stays under 100 MB, a rebuild from scratch gives the same digest
// (deterministic contents and metadata), the runtime is not staged into the project, and
// the built image answers a prediction.
//
// Needs a Docker engine and the offline base image (scripts/e2e_base_image.sh); skips with
// a printed reason otherwise, unless COG_E2E_REQUIRE_DOCKER=1 (CI), where that fails.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { DOCKER, dockerSkipReason, ensureBaseImage, run } from "./_docker.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const MAIN = join(REPO, "main.ts");

const reason = await dockerSkipReason("tests/e2e/docker_runtime_layer_test.ts");

async function layers(image: string): Promise<string[]> {
  const r = await run(DOCKER, ["image", "inspect", "--format", "{{json .RootFS.Layers}}", image]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

function writeModel(dir: string, files: { yaml: string; greeting: string }): void {
  Deno.mkdirSync(dir, { recursive: true });
  Deno.writeTextFileSync(join(dir, "cog.yaml"), files.yaml);
  Deno.writeTextFileSync(
    join(dir, "predict.py"),
    `from cog import BasePredictor\n\n\nclass Predictor(BasePredictor):\n    def predict(self, text: str = "x") -> str:\n        return "${files.greeting} " + text\n`,
  );
}

Deno.test({
  name:
    "two different models built by the same cog share one runtime layer, identical after a rebuild from scratch and under 100 MB",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const work = await Deno.makeTempDir({ prefix: "cog-e2e-layer-" });
    // A private cache: the runtime directory is built here, not in the user's cache (Deno's
    // own cache stays where it is, or cog would fetch its npm packages again).
    const info = await run(Deno.execPath(), ["info", "--json"]);
    const denoDir = (JSON.parse(info.stdout) as { denoDir: string }).denoDir;
    const env = { NO_COLOR: "1", XDG_CACHE_HOME: join(work, "cache"), DENO_DIR: denoDir };
    const tags = ["cog-e2e-layer-a", "cog-e2e-layer-b"];
    try {
      writeModel(join(work, "model-a"), {
        yaml: 'build:\n  python_version: "3.11"\n  run: ["echo a > /model-a"]\n' +
          'environment: ["MODEL=a"]\npredict: "predict.py:Predictor"\n',
        greeting: "hello",
      });
      writeModel(join(work, "model-b"), {
        yaml:
          'build:\n  python_version: "3.11"\n  run: ["echo b > /model-b", "echo bb >> /model-b"]\n' +
          'predict: "predict.py:Predictor"\n',
        greeting: "bonjour",
      });
      const build = async (model: string, tag: string, extra: string[] = []) => {
        const r = await run(
          Deno.execPath(),
          ["run", "-A", MAIN, "build", "-t", tag, "--progress", "plain", ...extra],
          { cwd: join(work, model), env },
        );
        assertEquals(r.code, 0, r.stderr);
        return r.stderr;
      };
      await build("model-a", tags[0]);
      await build("model-b", tags[1]);
      const runtimeTag = /cog-runtime:[\w.-]+/.exec(
        await Deno.readTextFile(join(work, "model-a", ".cog", "build", "Dockerfile")),
      )?.[0];
      assert(runtimeTag, "the Dockerfile copies from a cog-runtime image");
      tags.push(runtimeTag);

      const base = await layers("python:3.11-slim");
      const a = await layers(tags[0]);
      const b = await layers(tags[1]);
      assertEquals(a.slice(0, base.length), base);
      assertEquals(b.slice(0, base.length), base);
      const runtimeA = a[base.length];
      const runtimeB = b[base.length];
      assertEquals(runtimeA, runtimeB, "the runtime layer right after the base is the same");
      assert(a.length > base.length + 1 && b.length > base.length + 1, "each has its own layers");
      assert(
        a.slice(base.length + 1).every((l) => !b.includes(l)),
        "the models' own layers differ",
      );
      // Not staged into the project any more.
      await Deno.stat(join(work, "model-a", ".cog", "build", "runtime")).then(
        () => assert(false, ".cog/build/runtime exists"),
        () => {},
      );

      // The layer's size: the first step after the base's steps in the image's history
      // (oldest first), i.e. the COPY right after FROM.
      const steps = async (image: string) => {
        const r = await run(DOCKER, [
          "history",
          "--no-trunc",
          "--human=false",
          "--format",
          "{{.Size}}\t{{.CreatedBy}}",
          image,
        ]);
        assertEquals(r.code, 0, r.stderr);
        return r.stdout.trim().split("\n").reverse();
      };
      const baseSteps = (await steps("python:3.11-slim")).length;
      const copy = (await steps(tags[0]))[baseSteps];
      assert(/COPY/.test(copy), copy);
      const size = Number(copy.split("\t")[0]);
      console.log(`runtime layer ${runtimeA}: ${(size / 1e6).toFixed(1)} MB`);
      assert(size > 10e6 && size <= 100e6, `runtime layer is ${size} bytes`);

      // From scratch (no cache, the runtime image rebuilt from a fresh directory): same digest.
      await run(DOCKER, ["image", "rm", runtimeTag]);
      // (absent when another test had already built this runtime image: nothing to remove)
      await Deno.remove(join(work, "cache"), { recursive: true }).catch(() => {});
      const rebuilt = await build("model-a", tags[0], ["--no-cache"]);
      assert(rebuilt.includes(`Preparing the cog runtime image ${runtimeTag}`), rebuilt);
      assert(/bundling the server into one JavaScript file: done in/.test(rebuilt), rebuilt);
      assertEquals((await layers(tags[0]))[base.length], runtimeA, "byte-identical when rebuilt");

      // And the image serves.
      const port = (() => {
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const p = (l.addr as Deno.NetAddr).port;
        l.close();
        return p;
      })();
      const name = `cog-e2e-layer-${crypto.randomUUID().slice(0, 8)}`;
      const started = await run(DOCKER, [
        "run",
        "-d",
        "--rm",
        "--name",
        name,
        "-p",
        `127.0.0.1:${port}:5000`,
        tags[1],
      ]);
      assertEquals(started.code, 0, started.stderr);
      try {
        const deadline = Date.now() + 60_000;
        while (true) {
          const status = await fetch(`http://127.0.0.1:${port}/health-check`).then((r) => r.json())
            .then((body) => (body as { status?: string }).status, () => null);
          if (status === "READY") break;
          assert(Date.now() < deadline, "the image never became READY");
          await new Promise((r) => setTimeout(r, 100));
        }
        const r = await fetch(`http://127.0.0.1:${port}/predictions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: { text: "monde" } }),
        });
        assertEquals((await r.json()).output, "bonjour monde");
      } finally {
        await run(DOCKER, ["rm", "-f", name]);
      }
    } finally {
      for (const tag of tags) await run(DOCKER, ["image", "rm", "-f", tag]);
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
