import { tempDir } from "./_temp.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { caught } from "./_caught.ts";
import { ConfigError, parseConfig } from "../../src/config/mod.ts";

function errorOf(yaml: string, projectDir?: string): string {
  const err = caught(() => parseConfig(yaml, { file: "cog.yaml", projectDir }), ConfigError);
  return err.message;
}

Deno.test('an unquoted python_version: 3.10 is read as the string "3.10"', () => {
  const { config } = parseConfig("build:\n  python_version: 3.10\n");
  assertEquals(config.build.python_version, "3.10");
});

Deno.test("an empty file is a valid config with the default Python", () => {
  const { config, warnings } = parseConfig("");
  assertEquals(config.build.python_version, "3.13");
  assertEquals(config.build.gpu, false);
  assertEquals(warnings, []);
});

Deno.test("a full config is normalized with run steps, mounts and environment", () => {
  const { config, warnings } = parseConfig(`build:
  python_version: "3.12"
  gpu: yes
  cuda: 12.8
  system_packages: [ffmpeg]
  python_packages: ["pandas==2.2.2"]
  run:
    - "  echo hi  "
    - command: pip download x
      mounts: [{type: secret, id: pip, target: /etc/pip.conf}]
run: "run.py:Runner"
train: "train.py:Trainer"
environment: ["HF_HOME=/src/.hf"]
concurrency:
  max: 4
`);
  assertEquals(config.build.gpu, true);
  assertEquals(config.build.cuda, "12.8");
  assertEquals(config.build.run, [
    { command: "echo hi", mounts: [] },
    { command: "pip download x", mounts: [{ type: "secret", id: "pip", target: "/etc/pip.conf" }] },
  ]);
  assertEquals(config.run, "run.py:Runner");
  assertEquals(config.train, "train.py:Trainer");
  assertEquals(config.environment, ["HF_HOME=/src/.hf"]);
  assertEquals(config.concurrency, { max: 4 });
  assertEquals(warnings, [
    'cog.yaml:6: deprecated field "build.python_packages": use "build.python_requirements" instead',
    'cog.yaml:15: deprecated field "concurrency.max": use "@cog.concurrent(max=...)" instead',
  ]);
});

Deno.test("the deprecated predict: works as the runner reference with a warning", () => {
  const { config, warnings } = parseConfig(
    'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n',
  );
  assertEquals(config.run, "predict.py:Predictor");
  assertEquals(config.predict, "predict.py:Predictor");
  assertEquals(warnings, ['cog.yaml:3: deprecated field "predict": use "run" instead']);
});

Deno.test("unknown keys are ignored with a warning naming the file, line and allowed fields", () => {
  const { warnings } = parseConfig('build:\n  python_version: "3.11"\n  foo: 1\ntests: []\n');
  assertEquals(warnings, [
    'cog.yaml:4: unknown field "tests" is ignored (allowed: build, run, predict, train, image, model, concurrency, environment, weights)',
    'cog.yaml:3: unknown field "build.foo" in build is ignored (allowed: python_version, gpu, cuda, cudnn, python_requirements, python_packages, system_packages, run, pre_install, sdk_version)',
  ]);
});

const BAD: [string, string, string][] = [
  [
    "a non-boolean gpu",
    'build:\n  python_version: "3.11"\n  gpu: maybe\n',
    'cog.yaml:3: build.gpu must be a boolean (true or false), got "maybe"',
  ],
  [
    "a missing python_version",
    "build:\n  gpu: true\n",
    'cog.yaml:1: invalid build.python_version: python_version is required. Add it to the build section of your cog.yaml, e.g. python_version: "3.13"',
  ],
  [
    "python 3.9",
    "build:\n  python_version: 3.9\n",
    'cog.yaml:2: invalid build.python_version "3.9": minimum supported Python version is 3.10',
  ],
  [
    "a python version without minor",
    "build:\n  python_version: 3\n",
    "cog.yaml:2: invalid build.python_version \"3\": must include major and minor version (e.g., '3.11')",
  ],
  [
    "a python version with a bad minor",
    'build:\n  python_version: "3.x"\n',
    'cog.yaml:2: invalid build.python_version "3.x": invalid minor version number',
  ],
  [
    "a bad run reference",
    'run: "predict:Predictor"\n',
    "cog.yaml:1: invalid run \"predict:Predictor\": must be in the form 'run.py:Runner'",
  ],
  [
    "a bad predict reference",
    'predict: "predict.py"\n',
    "cog.yaml:1: invalid predict \"predict.py\": must be in the form 'predict.py:Predictor'",
  ],
  [
    "a bad train reference",
    'train: "train"\n',
    "cog.yaml:1: invalid train \"train\": must be in the form 'train.py:Trainer'",
  ],
  [
    "both run and predict",
    'run: "a.py:A"\npredict: "b.py:B"\n',
    "cog.yaml:2: invalid run: only one of run or predict can be set",
  ],
  [
    "a CUDA without minor",
    'build:\n  python_version: "3.11"\n  cuda: "12"\n',
    "cog.yaml:3: invalid build.cuda \"12\": must include both major and minor versions (e.g., '11.8')",
  ],
  [
    "CUDA 10.2",
    'build:\n  python_version: "3.11"\n  cuda: "10.2"\n',
    'cog.yaml:3: invalid build.cuda "10.2": minimum supported CUDA version is 11',
  ],
  [
    "python_packages with python_requirements",
    'build:\n  python_version: "3.11"\n  python_packages: [a]\n  python_requirements: r.txt\n',
    'cog.yaml:4: invalid build: only one of python_packages or python_requirements can be set, not both\ncog.yaml:4: invalid build.python_requirements "r.txt": file does not exist',
  ],
  [
    "a requirements file that does not exist",
    'build:\n  python_version: "3.11"\n  python_requirements: nope.txt\n',
    'cog.yaml:3: invalid build.python_requirements "nope.txt": file does not exist',
  ],
  [
    "a multi-line build.run command",
    'build:\n  python_version: "3.11"\n  run:\n    - "echo a\\necho b"\n',
    "cog.yaml:4: One of the commands in 'run' contains a new line, which won't work. You need to create a new list item in YAML prefixed with '-' for each command.\n\nThis is the offending line: echo a\necho b",
  ],
  [
    "a build.run item that is a number",
    'build:\n  python_version: "3.11"\n  run:\n    - 42\n',
    'cog.yaml:4: build.run[0] must be a command string or a mapping with "command" (and optional "mounts"), got 42',
  ],
  [
    "a mount that is not a secret",
    'build:\n  python_version: "3.11"\n  run:\n    - command: x\n      mounts:\n        - {type: cache, id: a, target: /a}\n',
    'cog.yaml:6: build.run[0].mounts[0].type must be "secret", got "cache"',
  ],
  [
    "system_packages as a string",
    'build:\n  python_version: "3.11"\n  system_packages: ffmpeg\n',
    'cog.yaml:3: build.system_packages must be a list, got "ffmpeg"',
  ],
  [
    "an environment entry without =",
    'environment: ["FOO"]\n',
    'cog.yaml:1: invalid environment: environment variable "FOO" is not in the KEY=VALUE format',
  ],
  [
    "a reserved environment variable",
    "environment:\n  - PATH=/x\n",
    'cog.yaml:2: invalid environment: environment variable "PATH" is not allowed: reserved for internal use',
  ],
  [
    "a reserved environment prefix",
    "environment:\n  - CUDA_HOME=/x\n",
    'cog.yaml:2: invalid environment: environment variable "CUDA_HOME" is not allowed: reserved for internal use',
  ],
  [
    "a duplicated environment variable",
    "environment:\n  - A=1\n  - A=2\n",
    'cog.yaml:3: invalid environment: environment variable "A" is already defined',
  ],
  [
    "concurrency.max of 0",
    "concurrency:\n  max: 0\n",
    'cog.yaml:2: invalid concurrency.max "0": must be at least 1',
  ],
  [
    "concurrency on Python 3.10",
    'build:\n  python_version: "3.10"\nconcurrency:\n  max: 4\n',
    'cog.yaml:4: invalid concurrency.max "4": concurrency requires Python 3.11 or higher',
  ],
  [
    "concurrency.max as text",
    "concurrency:\n  max: lots\n",
    'cog.yaml:2: concurrency.max must be an integer, got "lots"',
  ],
  [
    "both model and image",
    'image: "r8.im/a/b"\nmodel: "a/b"\n',
    "cog.yaml:2: invalid model: 'model' and 'image' cannot both be set",
  ],
  [
    "invalid YAML",
    'build:\n  python_version: "3.11\n',
    'cog.yaml:3: invalid YAML: Missing closing "quote',
  ],
  [
    "a top level list",
    "- a\n- b\n",
    "cog.yaml:1: the file must be a mapping of fields (build:, run:, ...), got a list",
  ],
  [
    "build as a string",
    "build: yes please\n",
    'cog.yaml:1: build must be a mapping, got "yes please"',
  ],
];

for (const [what, yaml, message] of BAD) {
  Deno.test(`a config with ${what} is rejected with: ${message.split("\n")[0]}`, () => {
    assertEquals(errorOf(yaml, tempDir()), message);
  });
}

Deno.test("every problem in a file is reported, one per line", () => {
  const err = caught(
    () => parseConfig('build:\n  python_version: "3.9"\nrun: "x"\n', { file: "cog.yaml" }),
    ConfigError,
  );
  assertEquals(err.issues.length, 2);
  assertEquals(err.line, 2);
  assert(err.message.includes("\n"));
});
