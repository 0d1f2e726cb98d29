// `cog train --no-docker` end to end: a real CLI process, a real worker running train().

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { FIXTURES, writeProject } from "../_helpers.ts";
import { cog } from "./_cog.ts";

const DEPRECATION =
  `Command "train" is deprecated, the train command will be removed in a future version of Cog`;

/** A copy of the train_basic fixture (run: and train:), since train writes into the cwd. */
async function trainProject(): Promise<string> {
  const files: Record<string, string> = {};
  for (const name of ["cog.yaml", "predict.py", "train.py"]) {
    files[name] = await Deno.readTextFile(`${FIXTURES}train_basic/${name}`);
  }
  return await writeProject(files);
}

Deno.test("cog train --no-docker runs train() and writes its result to ./weights, after Cog's deprecation line", async () => {
  const dir = await trainProject();
  try {
    const r = await cog(dir, "train", "--no-docker", "-i", "steps=3");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr.split("\n")[0], DEPRECATION);
    assertMatch(r.stderr, /Running training\.\.\.\n/);
    assertMatch(r.stderr, /Written output to: weights\n/);
    assert(!r.stderr.includes("Running prediction"), r.stderr);
    assertEquals(r.stdout, "");
    assertEquals(
      await Deno.readTextFile(`${dir}/weights`),
      '{\n  "steps": 3,\n  "weights": "w-3"\n}',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog train -o writes elsewhere and -o '' prints the result", async () => {
  const dir = await trainProject();
  try {
    const other = await cog(dir, "train", "--no-docker", "-i", "steps=2", "-o", "out/result.json");
    assertEquals(other.code, 1, "the parent directory does not exist");
    await Deno.mkdir(`${dir}/out`);
    const written = await cog(
      dir,
      "train",
      "--no-docker",
      "-i",
      "steps=2",
      "-o",
      "out/result.json",
    );
    assertEquals(written.code, 0, written.stderr);
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/out/result.json`)).weights, "w-2");
    const printed = await cog(dir, "train", "--no-docker", "-o", "", "-i", "steps=4");
    assertEquals(printed.code, 0, printed.stderr);
    assertEquals(JSON.parse(printed.stdout), { steps: 4, weights: "w-4" });
    assert(!(await Deno.stat(`${dir}/weights`).then(() => true, () => false)), "no weights file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog train checks inputs against the training schema before anything starts", async () => {
  const dir = await trainProject();
  try {
    const range = await cog(dir, "train", "--no-docker", "-i", "steps=300");
    assertEquals(range.code, 1);
    assertEquals(
      range.stderr.trim().split("\n"),
      [DEPRECATION, 'invalid input "steps": number must be at most 100'],
    );
    // `text` is predict()'s input, not train()'s.
    const unknown = await cog(dir, "train", "--no-docker", "-i", "text=hi");
    assertEquals(unknown.code, 1);
    assertMatch(unknown.stderr, /unknown input "text"; valid inputs are: steps, sleep/);
    assert(!unknown.stderr.includes("Starting"), unknown.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog train prints the deprecation also when it then fails, and for --help", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const none = await cog(empty, "train", "--no-docker");
    assertEquals(none.code, 1);
    const lines = none.stderr.trim().split("\n");
    assertEquals(lines[0], DEPRECATION);
    assertMatch(lines.at(-1)!, /cog\.yaml: not found in /);
    const help = await cog(empty, "train", "--help");
    assertEquals(help.code, 0);
    assertEquals(help.stderr.trim(), DEPRECATION);
    assertMatch(help.stdout, /Usage:\n {2}cog train \[image\] \[flags\]/);
    const bad = await cog(empty, "train", "--json", "{}");
    assertEquals(bad.code, 1);
    assertEquals(bad.stderr.split("\n")[0], DEPRECATION);
    assertEquals(bad.stderr.trim().split("\n").at(-1), "unknown flag: --json");
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("a training that returns a file is written to weights.<ext>; a project without train: is refused", async () => {
  const dir = await writeProject({
    "cog.yaml": 'train: "train.py:train"\n',
    "train.py": [
      "import os, tempfile",
      "from cog import Path",
      "def train(n: int = 2) -> Path:",
      "    out = os.path.join(tempfile.mkdtemp(), 'model.txt')",
      "    with open(out, 'w') as f:",
      "        f.write('w' * n)",
      "    return Path(out)",
    ].join("\n"),
  });
  const predictOnly = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": "from cog import BasePredictor\nclass Predictor(BasePredictor):\n" +
      "    def predict(self) -> str:\n        return 'x'\n",
  });
  try {
    const r = await cog(dir, "train", "--no-docker", "-i", "n=5");
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /Written output to: weights\.txt\n/);
    assertEquals(await Deno.readTextFile(`${dir}/weights.txt`), "wwwww");
    const refused = await cog(predictOnly, "train", "--no-docker");
    assertEquals(refused.code, 1);
    assertMatch(refused.stderr, /no train reference found in cog\.yaml/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(predictOnly, { recursive: true });
  }
});
