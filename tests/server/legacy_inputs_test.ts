// Inputs as thousands of existing models declare them, against the real server and a
// real worker: `x: T = None` / `Input(default=None)` on a non-Optional type is optional
// (pydantic-era Cog), and the input types Cog refuses (a BaseModel input) fail setup.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, writeProject } from "../_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

const LEGACY = [
  "from cog import BasePredictor, Input, Path",
  "class Predictor(BasePredictor):",
  "    def predict(",
  "        self,",
  "        image: Path = None,",
  "        prompt: str = Input(default=None, description='What to draw'),",
  "        seed: int = None,",
  "        steps: int = Input(default=None, ge=1),",
  "    ) -> str:",
  "        return repr((image, prompt, seed, steps))",
].join("\n");

Deno.test("a None default on a non-Optional type makes the input optional: omitted means None, no default key, explicit null refused", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": LEGACY,
  });
  const s = await startFixture("", { dir });
  try {
    const omitted = await s.request("POST", "/predictions", { input: {} });
    assertEquals(omitted.status, 200, JSON.stringify(omitted.body));
    assertEquals(omitted.body.output, "(None, None, None, None)");
    const given = await s.request("POST", "/predictions", { input: { prompt: "cat", seed: 3 } });
    assertEquals(given.body.output, "(None, 'cat', 3, None)");

    const input = (await s.request("GET", "/openapi.json")).body.components.schemas.Input;
    assertEquals(input.required, undefined, "nothing is required");
    assertEquals(input.properties.seed, { title: "Seed", type: "integer", "x-order": 2 });
    assertEquals(input.properties.prompt, {
      description: "What to draw",
      title: "Prompt",
      type: "string",
      "x-order": 1,
    });
    assertEquals(input.properties.steps.minimum, 1);
    assert(!("default" in input.properties.image));

    // Cog documents an explicit null as refused (even for Optional inputs): the same here.
    const nulled = await s.request("POST", "/predictions", { input: { seed: null } });
    assertEquals(nulled.status, 422);
    assertEquals(nulled.body.detail[0].loc, ["body", "input", "seed"]);
    const low = await s.request("POST", "/predictions", { input: { steps: 0 } });
    assertEquals(low.status, 422);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog run --no-docker runs a legacy predictor without the None-default inputs", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": LEGACY,
  });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "run", "--no-docker", "-i", "seed=9"],
      cwd: dir,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(new TextDecoder().decode(out.stdout), "(None, None, 9, None)\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const MODEL_INPUT = [
  "from cog import BasePredictor, BaseModel",
  "class Options(BaseModel):",
  "    size: int",
  "class Result(BaseModel):",
  "    size: int",
  "class Predictor(BasePredictor):",
  "    def predict(self, options: Options) -> Result:",
  "        return Result(size=options['size'])",
].join("\n");

Deno.test("a BaseModel input fails setup (SETUP_FAILED) with a message naming the input and the allowed types", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": MODEL_INPUT,
  });
  const s = await startFixture("", { dir });
  try {
    const health = await s.request("GET", "/health-check");
    assertEquals(health.body.status, "SETUP_FAILED");
    assertMatch(
      health.body.setup.logs,
      /input 'options': unsupported Cog type Options: a BaseModel \(or dataclass\) is only supported as an output type; input types are str, int, float, bool, cog\.Path/,
    );
    assertEquals((await s.request("POST", "/predictions", { input: {} })).status, 503);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a BaseModel output is still served; cog run reports a BaseModel input before starting", async () => {
  const ok = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": MODEL_INPUT.replace("options: Options", "size: int").replace(
      "options['size']",
      "size",
    ),
  });
  const bad = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": MODEL_INPUT,
  });
  const s = await startFixture("", { dir: ok });
  try {
    const r = await s.request("POST", "/predictions", { input: { size: 4 } });
    assertEquals(r.body.output, { size: 4 });
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "run", "--no-docker", "-i", "options={}"],
      cwd: bad,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1);
    assertMatch(stderr, /^Model schema is invalid: input 'options': unsupported Cog type Options/m);
    assert(!stderr.includes("Starting"), stderr);
  } finally {
    await s.close();
    await Deno.remove(ok, { recursive: true });
    await Deno.remove(bad, { recursive: true });
  }
});
