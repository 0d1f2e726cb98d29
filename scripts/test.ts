// `deno task test`: every test in the project, with one summary line at the end.
//  1. the Deno tests (tests/**/*_test.ts; the Docker e2e test skips itself
//     with a printed reason when no Docker engine is reachable),
//  2. the Python SDK/worker tests (python -m unittest) on every Python from
//     3.9 to 3.13 found under pyenv, else on python3.
// Ends with `tests: N passed, N failed` (what CI reads). Extra arguments are
// passed to `deno test` (e.g. a file filter); `--no-python` skips step 2.

const root = new URL("..", import.meta.url).pathname;
const args = Deno.args.filter((a) => a !== "--no-python" && a !== "--python-only");
const runDeno = !Deno.args.includes("--python-only");
const runPython = !Deno.args.includes("--no-python");

let passed = 0;
let failed = 0;

// Everything the tests (and the models and browsers they start) put in TMPDIR lands in
// one private directory, removed at the end: nothing is left in /tmp, even by a test
// that forgets to clean up or is killed half-way.
const tmpDir = await Deno.makeTempDir({ prefix: "cog-tests-" });
const childEnv = { TMPDIR: tmpDir };

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

async function run(
  cmd: string,
  cmdArgs: string[],
  cwd: string,
): Promise<{ code: number; text: string }> {
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd,
    env: childEnv,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await out.write(chunk);
    }
  };
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  const status = await child.status;
  return { code: status.code, text: text.replace(ANSI, "") };
}

if (runDeno) {
  const targets = args.length > 0 ? args : ["tests/"];
  // --expose-gc: tests/reliability/heap_test.ts forces full GCs to measure retention.
  const result = await run(
    Deno.execPath(),
    ["test", "-A", "--v8-flags=--expose-gc", ...targets],
    root,
  );
  const summary = [...result.text.matchAll(/^(ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed/gm)]
    .at(-1);
  if (summary) {
    passed += Number(summary[2]);
    failed += Number(summary[3]);
  } else {
    console.error("deno test printed no summary: counting it as one failure");
    failed += 1;
  }
  if (result.code !== 0 && summary && Number(summary[3]) === 0) failed += 1;
}

async function pythons(): Promise<string[]> {
  const found: string[] = [];
  const pyenvRoot = Deno.env.get("PYENV_ROOT") ?? `${Deno.env.get("HOME")}/.pyenv`;
  try {
    for await (const entry of Deno.readDir(`${pyenvRoot}/versions`)) {
      const match = /^3\.(\d+)\.\d+$/.exec(entry.name);
      if (match && Number(match[1]) >= 9 && Number(match[1]) <= 13) {
        found.push(`${pyenvRoot}/versions/${entry.name}/bin/python3`);
      }
    }
  } catch {
    // no pyenv
  }
  found.sort((a, b) => {
    const minor = (p: string) => Number(/3\.(\d+)\./.exec(p)![1]);
    return minor(a) - minor(b);
  });
  return found.length > 0 ? found : ["python3"];
}

if (runPython) {
  for (const python of await pythons()) {
    console.log(`\n== Python SDK tests with ${python}`);
    const result = await run(
      python,
      ["-m", "unittest", "discover", "-s", "tests", "-t", "."],
      `${root}python`,
    );
    const ran = /^Ran (\d+) tests?/m.exec(result.text);
    const total = ran ? Number(ran[1]) : 0;
    const failures = /^FAILED \((.*)\)/m.exec(result.text);
    let bad = 0;
    let skipped = 0;
    for (const part of (failures?.[1] ?? /^OK \((.*)\)/m.exec(result.text)?.[1] ?? "").split(",")) {
      const [key, value] = part.trim().split("=");
      if (key === "failures" || key === "errors" || key === "unexpected successes") {
        bad += Number(value);
      }
      if (key === "skipped") skipped += Number(value);
    }
    if (!ran || (result.code !== 0 && bad === 0)) bad += 1;
    passed += Math.max(0, total - bad - skipped);
    failed += bad;
  }
}

await Deno.remove(tmpDir, { recursive: true }).catch((error) => {
  console.error(`could not remove ${tmpDir}: ${error}`);
});
console.log(`\ntests: ${passed} passed, ${failed} failed`);
Deno.exit(failed > 0 ? 1 : 0);
