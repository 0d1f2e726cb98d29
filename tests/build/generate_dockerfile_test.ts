// Golden Dockerfiles: regenerate with UPDATE_GOLDEN=1 deno test -A tests/build/
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { envValue, planBuild, type PlanBuildOptions } from "../../src/build/mod.ts";

const GOLDEN = new URL("./golden/", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

function golden(name: string, actual: string): void {
  const url = new URL(name, GOLDEN);
  if (UPDATE) Deno.writeTextFileSync(url, actual);
  assertEquals(
    actual,
    Deno.readTextFileSync(url),
    `golden ${name} differs (UPDATE_GOLDEN=1 to accept)`,
  );
}

const RUNTIME = "cog-runtime:0.1.0-0123456789abcdef";
const SERVE: PlanBuildOptions = {
  runtimeImage: RUNTIME,
  includeSource: false,
  context: "staging",
  buildkit: true,
};
const BUILD: PlanBuildOptions = {
  runtimeImage: RUNTIME,
  includeSource: true,
  context: "named",
  buildkit: true,
};

const FULL_CPU = `build:
  python_version: "3.12"
  system_packages: [ffmpeg, cowsay]
  python_packages: ["pandas==2.2.2"]
  run:
    - cowsay moo
    - command: pip download private-pkg
      mounts: [{type: secret, id: pip, target: /etc/pip.conf}]
run: "run.py:Runner"
train: "train.py:Trainer"
environment: ["HF_HOME=/src/.hf", "GREETING=hello world"]
concurrency:
  max: 2
`;

const GPU_TORCH = `build:
  python_version: "3.12"
  gpu: true
  system_packages: [ffmpeg]
  python_packages: ["torch==2.7.1", "numpy==2.2.0"]
run: "predict.py:Predictor"
`;

Deno.test("a minimal CPU model for serve needs no network: FROM python slim, runtime copied in, no source", () => {
  const { config } = parseConfig(
    'build:\n  python_version: 3.11\npredict: "predict.py:Predictor"\n',
  );
  const plan = planBuild(config, SERVE);
  assertEquals(plan.requirements, null);
  assertEquals(plan.base, { image: "python:3.11-slim", kind: "python" });
  golden("cpu_minimal_serve.Dockerfile", plan.dockerfile);
  assert(!/apt-get|pip install|uv /.test(plan.dockerfile));
});

Deno.test("a full CPU model for cog build has environment, apt, requirements, run steps with mounts and COPY . /src", () => {
  const { config } = parseConfig(FULL_CPU);
  const plan = planBuild(config, BUILD);
  assertEquals(plan.requirements, "pandas==2.2.2\n");
  golden("cpu_full_build.Dockerfile", plan.dockerfile);
});

Deno.test("a GPU torch model starts FROM the CUDA image the torch/CUDA table picks", () => {
  const { config } = parseConfig(GPU_TORCH);
  const plan = planBuild(config, BUILD);
  assertEquals(plan.cuda?.cuda, "12.8");
  assertEquals(plan.cuda?.cudnn, "9");
  assertEquals(plan.base.image, "nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04");
  assertEquals(
    plan.requirements,
    "--extra-index-url https://download.pytorch.org/whl/cu128/\ntorch==2.7.1\nnumpy==2.2.0\n",
  );
  golden("gpu_torch_build.Dockerfile", plan.dockerfile);
});

Deno.test("--use-cuda-base-image=false builds a GPU model FROM python slim but keeps the CUDA wheel index", () => {
  const { config } = parseConfig(GPU_TORCH);
  const plan = planBuild(config, { ...SERVE, useCudaBaseImage: "false" });
  assertEquals(plan.base.image, "python:3.12-slim");
  assert(
    plan.requirements?.startsWith("--extra-index-url https://download.pytorch.org/whl/cu128/"),
  );
  golden("gpu_python_slim_serve.Dockerfile", plan.dockerfile);
});

Deno.test("a cog-base image drops the packages it already ships and the preamble", () => {
  const { config } = parseConfig(FULL_CPU);
  const plan = planBuild(config, { ...BUILD, cogBaseExists: () => true });
  assertEquals(plan.base, { image: "r8.im/cog-base:python3.12", kind: "cog-base" });
  golden("cog_base_build.Dockerfile", plan.dockerfile);
  assert(!plan.dockerfile.includes("ffmpeg"));
});

Deno.test("the classic builder gets no RUN --mount, COPYs from the staging context and copies a non-default config over cog.yaml", () => {
  const { config } = parseConfig(
    'build:\n  python_version: "3.11"\n  system_packages: [git]\n  python_packages: ["requests==2.32.0"]\nrun: "p.py:P"\n',
  );
  const plan = planBuild(config, {
    runtimeImage: RUNTIME,
    includeSource: true,
    context: "staging",
    buildkit: false,
    configFile: "gpu.yaml",
  });
  golden("classic_build.Dockerfile", plan.dockerfile);
  assert(!plan.dockerfile.includes("--mount"));
});

Deno.test("a secret mount without BuildKit is refused with a hint to install buildx", () => {
  const { config } = parseConfig(FULL_CPU);
  throws(
    () => planBuild(config, { ...BUILD, context: "staging", buildkit: false }),
    /build\.run\[1\] uses a secret mount, which needs BuildKit/,
  );
});

Deno.test("a GPU model with an unpinned torch is refused", () => {
  const { config } = parseConfig(
    'build:\n  python_version: "3.12"\n  gpu: true\n  python_packages: ["torch"]\n',
  );
  throws(
    () => planBuild(config, SERVE),
    /^Error: torch version must be specified when using CUDA$/,
  );
});

Deno.test("a GPU model with an unknown torch and no cuda tells the user to set cuda", () => {
  const { config } = parseConfig(
    'build:\n  python_version: "3.12"\n  gpu: true\n  python_packages: ["torch==9.9.9"]\n',
  );
  throws(
    () => planBuild(config, SERVE),
    /cog doesn't know what CUDA version is compatible with torch==9\.9\.9/,
  );
});

Deno.test("a GPU model without torch defaults to CUDA 11.8 with cuDNN 8", () => {
  const { config } = parseConfig('build:\n  python_version: "3.11"\n  gpu: true\n');
  const plan = planBuild(config, SERVE);
  assertEquals(plan.base.image, "nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04");
});

Deno.test("an incompatible cuDNN is refused with the versions that would work", () => {
  const { config } = parseConfig(
    'build:\n  python_version: "3.11"\n  gpu: true\n  cuda: "11.8"\n  cudnn: "9"\n',
  );
  throws(
    () => planBuild(config, SERVE),
    /CUDA 11\.8 is incompatible with CuDNN 9: compatible CuDNN versions are: 8/,
  );
});

Deno.test("a pinned torch on CPU gets the CPU wheel index and cog lines are removed with a warning", () => {
  const { config } = parseConfig(
    'build:\n  python_version: "3.11"\n  python_packages: ["torch==2.7.1", "cog==0.9"]\n',
  );
  const plan = planBuild(config, SERVE);
  assertEquals(
    plan.requirements,
    "--extra-index-url https://download.pytorch.org/whl/cpu/\ntorch==2.7.1\n",
  );
  assertEquals(plan.warnings.length, 1);
});

Deno.test("ENV values with spaces or dollars are quoted so they survive the Dockerfile parser", () => {
  assertEquals(envValue("/src/.hf"), "/src/.hf");
  assertEquals(envValue("hello world"), '"hello world"');
  assertEquals(envValue("a$b"), '"a\\$b"');
  assertEquals(envValue(""), '""');
});
