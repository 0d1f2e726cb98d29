// `cog run -i f=@file` in Docker: the file goes to the containerised server as
// a data URL carrying its name (never as a host path, which the server refuses
// over HTTP), and the model gets it under its own name and extension.
//
// Needs a reachable Docker engine and the base image made offline by
// scripts/e2e_base_image.sh; skips with a printed reason otherwise, unless
// COG_E2E_REQUIRE_DOCKER=1 (CI), where that is a failure.

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DOCKER, dockerSkipReason, ensureBaseImage, run } from "./_docker.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(REPO, "main.ts");

const reason = await dockerSkipReason("tests/e2e/docker_files_test.ts");

Deno.test({
  name:
    "cog run -i f=@file in Docker: the model gets the file under its own name, no container left",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBaseImage();
    const dir = await Deno.makeTempDir({ prefix: "cog-e2e-files-" });
    try {
      await Deno.writeTextFile(
        join(dir, "cog.yaml"),
        'build:\n  python_version: 3.11\nrun: "predict.py:Predictor"\n',
      );
      await Deno.writeTextFile(
        join(dir, "predict.py"),
        [
          "import os",
          "from cog import BasePredictor, Path",
          "class Predictor(BasePredictor):",
          "    def predict(self, doc: Path) -> str:",
          "        return os.path.basename(str(doc)) + ':' + doc.read_text()",
        ].join("\n") + "\n",
      );
      await Deno.writeTextFile(join(dir, "clip one.mkv"), "not really a video");
      const r = await run(Deno.execPath(), [
        "run",
        "-A",
        MAIN,
        "run",
        "-i",
        "doc=@clip one.mkv",
      ], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "clip one.mkv:not really a video\n");
      const left = await run(DOCKER, ["ps", "-a", "-q", "--filter", "name=cog-predict-"]);
      assertEquals(left.stdout.trim(), "", "a cog-predict container was left behind");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
