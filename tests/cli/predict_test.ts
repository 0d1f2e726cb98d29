// `cog predict --no-docker` end to end: a real CLI process, a real worker.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { FIXTURES, writeProject } from "../_helpers.ts";
import { cog } from "./_cog.ts";

Deno.test("cog run --no-docker prints a text output on stdout and exits 0", async () => {
  const r = await cog(`${FIXTURES}echo`, "run", "--no-docker", "-i", "text=world");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout, "hello world\n");
  assertMatch(r.stderr, /Running prediction\.\.\./);
});

Deno.test("cog predict warns that the name is deprecated and still runs", async () => {
  const r = await cog(`${FIXTURES}echo`, "predict", "--no-docker", "-i", "text=x");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /"cog predict" is deprecated, use "cog run"/);
  assertEquals(r.stdout, "hello x\n");
});

Deno.test("unknown and invalid inputs are reported with Cog's messages before setup runs", async () => {
  const unknown = await cog(`${FIXTURES}typed`, "run", "--no-docker", "-i", "nope=1");
  assertEquals(unknown.code, 1);
  assertMatch(
    unknown.stderr,
    /unknown input "nope"; valid inputs are: text, count, scale, flag, mode, code/,
  );
  assert(!unknown.stderr.includes("Running prediction"), "nothing ran");
  const bad = await cog(`${FIXTURES}typed`, "run", "--no-docker", "-i", "count=30", "-i", "mode=x");
  assertEquals(bad.code, 1);
  assertMatch(
    bad.stderr,
    /input validation failed:\n- invalid input "count": number must be at most 10\n- invalid input "mode": must be one of: fast, slow/,
  );
  const missing = await cog(`${FIXTURES}echo`, "run", "--no-docker");
  assertEquals(missing.code, 1);
  assertMatch(missing.stderr, /missing required input "text"/);
  const wrongType = await cog(`${FIXTURES}typed`, "run", "--no-docker", "-i", "count=abc");
  assertMatch(wrongType.stderr, /invalid input "count": expected integer, got string/);
});

Deno.test("typed -i values are coerced by the schema and object outputs print as JSON", async () => {
  const r = await cog(
    `${FIXTURES}typed`,
    "run",
    "--no-docker",
    "-i",
    "count=3",
    "-i",
    "flag=true",
    "-i",
    "scale=2.5",
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout), {
    code: "ab12",
    count: 3,
    flag: true,
    mode: "fast",
    scale: 2.5,
    text: "hi",
  });
});

Deno.test("a file output is written to output.<ext>, or to -o", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const project = `${FIXTURES}files_out`;
    const r = await cog(project, "run", "--no-docker", "-o", `${dir}/picture`);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, new RegExp(`Written output to: ${dir}/picture.png`));
    const bytes = await Deno.readFile(`${dir}/picture.png`);
    assertEquals([...bytes.slice(1, 4)], [..."PNG"].map((c) => c.charCodeAt(0)));
    assertEquals(r.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file input given as @path reaches the model as a file with its extension", async () => {
  const project = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": [
      "from cog import BasePredictor, Path",
      "class Predictor(BasePredictor):",
      "    def predict(self, doc: Path) -> str:",
      "        return doc.name.split('.')[-1] + ':' + doc.read_text()",
    ].join("\n"),
    "note.txt": "file contents",
  });
  try {
    const r = await cog(project, "run", "--no-docker", "-i", "doc=@note.txt");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "txt:file contents\n");
    const missing = await cog(project, "run", "--no-docker", "-i", "doc=@nope.txt");
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /input "doc": open nope.txt: no such file or directory/);
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("a failing prediction exits 1 with Cog's message, and --json prints the result object", async () => {
  const r = await cog(`${FIXTURES}raises`, "run", "--no-docker");
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /Prediction failed with status "failed": .*this is a value error/);
  const json = await cog(`${FIXTURES}echo`, "run", "--no-docker", "--json", '{"text":"j"}');
  assertEquals(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assertEquals(parsed.status, "succeeded");
  assertEquals(parsed.output, "hello j");
  assertEquals(parsed.error, "");
  assertEquals(typeof parsed.metrics.predict_time, "number");
});

Deno.test("setup failure is reported as Model setup failed", async () => {
  const r = await cog(`${FIXTURES}setup_fails`, "run", "--no-docker", "-i", "text=x");
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /Model setup failed/);
});
