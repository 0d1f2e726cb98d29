// The toolchain is pinned: one exact Deno version, named once in deno.json
// ("denoVersion"), is what the tests run on, what ./deno runs (offline, from npm's
// cache), and what the README, CI and docs call; nothing floats on `deno@2`.
import { assert, assertEquals } from "../_assert.ts";
import denoJson from "../../deno.json" with { type: "json" };

const ROOT = new URL("../../", import.meta.url).pathname;
const PINNED = (denoJson as { denoVersion?: string }).denoVersion;

Deno.test("deno.json names one exact Deno version and the tests run on it", () => {
  assert(PINNED && /^\d+\.\d+\.\d+$/.test(PINNED), `denoVersion is ${PINNED}`);
  assertEquals(Deno.version.deno, PINNED, "run the tests with ./deno task test");
});

Deno.test("README, CI and docs run Deno through ./deno, never a floating or second version", async () => {
  const files = ["README.md", ".ci/run", "ARCHITECTURE.md"];
  for await (const entry of Deno.readDir(`${ROOT}docs`)) {
    if (entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  for (const file of files) {
    const text = await Deno.readTextFile(`${ROOT}${file}`);
    const specs = [...text.matchAll(/deno@([\w.<>-]+)/g)].map((m) => m[1]);
    const stray = specs.filter((v) => v !== PINNED);
    assertEquals(stray, [], `${file} names another Deno: ${stray.join(", ")}`);
  }
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  assert(/^DENO=\(\.\/deno\)/m.test(ci), ".ci/run uses ./deno");
});

Deno.test("./deno runs the pinned version offline from npm's cache", async () => {
  const out = await new Deno.Command(`${ROOT}deno`, {
    args: ["--version"],
    env: { npm_config_offline: "true" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(text.startsWith(`deno ${PINNED} `), text);
});
