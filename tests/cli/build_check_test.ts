// `cog build` checks the predictor's schema before an image is tagged: on the host
// (a real Python worker introspecting the predictor) when it can load it, else in the
// built image through `cog openapi-schema`. Docker is a recording fake here; the real
// engine runs the same cases in tests/e2e/docker_cli_test.ts.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { writeProject } from "../_helpers.ts";
import { runBuild } from "../../src/cli/build.ts";
import type { Output } from "../../src/cli/_output.ts";
import { fakeDocker } from "./_fake_docker.ts";
import { cog } from "./_cog.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const COG_YAML = 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n';

function recordingOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    success: (m) => lines.push(`success: ${m}`),
    blank: () => {},
  };
}

function predictor(signature: string, prelude = ""): string {
  return [
    "from typing import Optional",
    "from cog import BasePredictor, BaseModel, Input, Path",
    prelude,
    "class Predictor(BasePredictor):",
    `    def predict(self, ${signature}) -> str:`,
    "        return 'x'",
    "",
  ].join("\n");
}

/** A binary to stage as the image's runtime (its content does not matter to a fake build). */
async function fakeRuntime(dir: string) {
  const binary = `${dir}/fake-cog-binary`;
  await Deno.writeTextFile(binary, "#!/bin/sh\n");
  return {
    kind: "compiled" as const,
    binary,
    pythonDir: new URL("../../python", import.meta.url).pathname,
  };
}

/** The model's build (the runtime image, built first and once per cog version, is not it). */
function modelBuild(calls: string[][]): string[] {
  return calls.find((c) => c[0] === "build" && !c.some((a) => a.startsWith("cog-runtime:")))!;
}

/** Images left behind, the shared runtime image aside. */
function modelImages(images: Set<string>): string[] {
  return [...images].filter((i) => !i.startsWith("cog-runtime:"));
}

async function build(files: Record<string, string>, args: string[] = [], docker = fakeDocker()) {
  const dir = await writeProject(files);
  const output = recordingOutput();
  try {
    const code = await runBuild(["-t", "me/model", ...args], {
      cwd: dir,
      docker,
      output,
      runtime: await fakeRuntime(dir),
      runtimeCache: `${dir}/.runtime-cache`,
      env: { get: () => undefined },
    });
    return { code, output: output.lines.join("\n"), docker };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const INVALID_ON_HOST: [string, Record<string, string>, RegExp][] = [
  [
    "a default below ge",
    { "cog.yaml": COG_YAML, "predict.py": predictor("count: int = Input(default=1, ge=2)") },
    /error: Model schema is invalid: invalid default for count: int: must be at minimum 2/,
  ],
  [
    "accept= on a str input",
    { "cog.yaml": COG_YAML, "predict.py": predictor('name: str = Input(accept="image/*")') },
    /error: Model schema is invalid: accept is only valid on Path or File inputs: name: str/,
  ],
  [
    "no run: or predict: in cog.yaml",
    { "cog.yaml": 'build:\n  python_version: "3.11"\n', "predict.py": predictor("x: str") },
    /error: no predict or train reference found in cog.yaml/,
  ],
  [
    "a type that cannot be resolved",
    { "cog.yaml": COG_YAML, "predict.py": predictor('x: "Missing"') },
    /error: Model schema is invalid: could not resolve the type annotations of predict\(\): NameError/,
  ],
  [
    "a BaseModel input",
    {
      "cog.yaml": COG_YAML,
      "predict.py": predictor("config: Config", "class Config(BaseModel):\n    size: int\n"),
    },
    /error: Model schema is invalid: input 'config': unsupported Cog type Config: a BaseModel .*only supported as an output type; input types are str/,
  ],
];

for (const [what, files, message] of INVALID_ON_HOST) {
  Deno.test(`cog build fails before Docker is touched when the predictor has ${what}`, async () => {
    const { code, output, docker } = await build(files);
    assertEquals(code, 1, output);
    assertMatch(output, message);
    assertEquals(docker.calls, [], "Docker was not contacted");
    assertEquals(docker.images.size, 0);
  });
}

Deno.test("cog build --skip-schema-validation builds even an invalid predictor", async () => {
  const { code, output, docker } = await build({
    "cog.yaml": COG_YAML,
    "predict.py": predictor("count: int = Input(default=1, ge=2)"),
  }, ["--skip-schema-validation"]);
  assertEquals(code, 0, output);
  assert(docker.images.has("me/model"));
});

Deno.test("cog build of a valid predictor builds the final tag directly with Cog's labels", async () => {
  const { code, output, docker } = await build({
    "cog.yaml": COG_YAML,
    "predict.py": predictor("count: int = Input(default=3, ge=2)"),
  });
  assertEquals(code, 0, output);
  assertMatch(output, /success: Image built as me\/model/);
  const buildCall = modelBuild(docker.calls);
  assertEquals(buildCall[buildCall.indexOf("--tag") + 1], "me/model");
  const labels = buildCall.flatMap((a, i) => buildCall[i - 1] === "--label" ? [a] : []);
  assert(labels.some((l) => l.startsWith("run.cog.version=")), labels.join("\n"));
  assert(labels.some((l) => l.startsWith("run.cog.config=")), labels.join("\n"));
  const schema = labels.find((l) => l.startsWith("run.cog.openapi_schema="))!;
  assertEquals(
    JSON.parse(schema.slice("run.cog.openapi_schema=".length)).components.schemas.Input
      .properties.count.minimum,
    2,
  );
  assertEquals(docker.calls.filter((c) => c[0] === "capture" || c[0] === "tagImage"), []);
});

// The host cannot import this predictor (a package only the image has), so only the image
// can tell whether it is valid.
const IMAGE_ONLY = {
  "cog.yaml": COG_YAML,
  "predict.py": predictor("x: str", "import only_in_the_image  # noqa"),
};

Deno.test("cog build checks in the built image when the host cannot load the predictor, and tags nothing when the image refuses it", async () => {
  const reason = "Model schema is invalid: invalid default for count: int: must be at minimum 2";
  const docker = fakeDocker({
    capture: () => ({ code: 1, stderrTail: `${reason}\n` }),
  });
  const { code, output } = await build(IMAGE_ONLY, [], docker);
  assertEquals(code, 1, output);
  assertMatch(output, new RegExp(`error: ${reason}`));
  const built = modelBuild(docker.calls);
  const tmp = built[built.indexOf("--tag") + 1];
  assertMatch(tmp, /^cog-tmp:[0-9a-f]{16}$/);
  const check = docker.calls.find((c) => c[0] === "capture")!;
  assertEquals(check.slice(1, 4), ["run", "--rm", "--name"]);
  assertEquals(check.slice(5), [tmp, "cog", "openapi-schema", "-f", "cog.yaml"]);
  assertEquals(docker.calls.filter((c) => c[0] === "tagImage"), []);
  assertEquals(modelImages(docker.images), [], "neither the final nor the temporary tag is left");
});

Deno.test("cog build tags the image it checked once the image accepts the predictor", async () => {
  const docker = fakeDocker({
    capture: () => ({ code: 0, stdout: JSON.stringify({ openapi: "3.0.2" }) }),
  });
  const { code, output } = await build(IMAGE_ONLY, [], docker);
  assertEquals(code, 0, output);
  const tmp = modelBuild(docker.calls).find((a) => a.startsWith("cog-tmp:"))!;
  assertEquals(docker.calls.find((c) => c[0] === "tagImage"), ["tagImage", tmp, "me/model"]);
  assertEquals(modelImages(docker.images), ["me/model"]);
});

Deno.test("cog openapi-schema (what the build runs in the image) prints the document or fails with the reason", async () => {
  const valid = await writeProject({
    "cog.yaml": COG_YAML,
    "predict.py": predictor("count: int = Input(default=3, ge=2)"),
  });
  const invalid = await writeProject({
    "cog.yaml": COG_YAML,
    "predict.py": predictor("count: int = Input(default=1, ge=2)"),
  });
  try {
    const ok = await cog(valid, "openapi-schema");
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(JSON.parse(ok.stdout).components.schemas.Input.properties.count.default, 3);
    const bad = await cog(invalid, "openapi-schema");
    assertEquals(bad.code, 1);
    assertEquals(bad.stdout, "");
    assertEquals(
      bad.stderr.trim(),
      "Model schema is invalid: invalid default for count: int: must be at minimum 2",
    );
  } finally {
    await Deno.remove(valid, { recursive: true });
    await Deno.remove(invalid, { recursive: true });
  }
});

Deno.test("an annotation this python3 is too old to evaluate is left to the image; an undefined name is invalid", async () => {
  let old: string | undefined;
  try {
    old = [...Deno.readDirSync(`${Deno.env.get("HOME")}/.pyenv/versions`)].map((e) => e.name)
      .find((v) => v.startsWith("3.9."));
  } catch {
    old = undefined;
  }
  if (!old) {
    console.log("SKIP: no Python 3.9 under ~/.pyenv to stand for an older host python3");
    return;
  }
  const python = `${Deno.env.get("HOME")}/.pyenv/versions/${old}/bin/python3`;
  const dir = await writeProject({
    "cog.yaml": COG_YAML,
    "predict.py": "from __future__ import annotations\n" + predictor("x: int | None = None"),
  });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "openapi-schema"],
      cwd: dir,
      stdin: "null",
      env: { NO_COLOR: "1", COG_PYTHON: python },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1);
    // "unavailable" here, so `cog build` goes on to check it in the image (Python 3.11).
    assertMatch(
      stderr,
      /^Failed to load model schema: SignatureError: could not resolve the type annotations of predict\(\): TypeError/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
