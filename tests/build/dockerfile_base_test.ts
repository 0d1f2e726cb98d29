// Dockerfile.base is the runtime image's Dockerfile, and every generated model Dockerfile
// copies that runtime in right after its FROM line.

import { assert, assertEquals } from "../_assert.ts";
import { planBuild, RUNTIME_IMAGE_DOCKERFILE, runtimeCopyLine } from "../../src/build/mod.ts";
import { parseConfig } from "../../src/config/mod.ts";

Deno.test("Dockerfile.base holds exactly the runtime image's Dockerfile lines", () => {
  const base = Deno.readTextFileSync(new URL("../../Dockerfile.base", import.meta.url));
  const lines = base.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  assertEquals(lines, RUNTIME_IMAGE_DOCKERFILE.trim().split("\n"));
});

Deno.test("the runtime is copied in right after FROM, before any step of the model, for every base", () => {
  const configs = [
    'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    'build:\n  python_version: "3.12"\n  system_packages: [git]\n  run: ["echo hi"]\nenvironment: ["A=b"]\nrun: "p.py:P"\n',
    'build:\n  python_version: "3.12"\n  gpu: true\n  python_packages: ["torch==2.7.1"]\nrun: "p.py:P"\n',
  ];
  for (const text of configs) {
    const { config } = parseConfig(text);
    for (const cogBaseExists of [undefined, () => true]) {
      const dockerfile = planBuild(config, {
        runtimeImage: "cog-runtime:9.9.9-0123456789abcdef",
        includeSource: true,
        context: "staging",
        buildkit: true,
        cogBaseExists,
      }).dockerfile.split("\n");
      assert(dockerfile[0].startsWith("FROM "), dockerfile[0]);
      assertEquals(dockerfile[1], runtimeCopyLine("cog-runtime:9.9.9-0123456789abcdef"));
      assertEquals(dockerfile[1], "COPY --from=cog-runtime:9.9.9-0123456789abcdef / /");
      assertEquals(dockerfile.filter((l) => l.includes("--from=cog-runtime")).length, 1);
    }
  }
});
