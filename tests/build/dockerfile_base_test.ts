// Dockerfile.base and the generator agree on the shared runtime layer.

import { assert } from "../_assert.ts";
import { planBuild } from "../../src/build/mod.ts";
import { parseConfig } from "../../src/config/mod.ts";

Deno.test("every runtime line of Dockerfile.base appears, in order, in a generated Dockerfile", () => {
  const base = Deno.readTextFileSync(new URL("../../Dockerfile.base", import.meta.url));
  const runtime = base.split("\n").filter((l) =>
    /^(COPY runtime\/|ENV COG_PYTHON_DIR|WORKDIR|EXPOSE|CMD)/.test(l)
  );
  assert(runtime.length === 5, `Dockerfile.base runtime lines: ${runtime.join(" | ")}`);
  const { config } = parseConfig(
    'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    {
      file: "cog.yaml",
      projectDir: "/tmp",
    },
  );
  const generated = planBuild(config, {} as never).dockerfile.split("\n");
  let at = 0;
  for (const line of runtime) {
    const found = generated.indexOf(line, at);
    assert(found !== -1, `generated Dockerfile lacks: ${line}\n${generated.join("\n")}`);
    at = found + 1;
  }
});
