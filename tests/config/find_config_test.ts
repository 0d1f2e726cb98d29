import { tempDir } from "./_temp.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { caught, caughtAsync } from "./_caught.ts";
import { join } from "node:path";
import { ConfigError, defaultImageName, findConfig, loadConfig } from "../../src/config/mod.ts";

Deno.test("cog.yaml is found from a subdirectory and the project dir is where it matched", () => {
  const root = tempDir();
  Deno.mkdirSync(join(root, "a", "b"), { recursive: true });
  Deno.writeTextFileSync(join(root, "cog.yaml"), "");
  assertEquals(findConfig({ cwd: join(root, "a", "b") }), {
    projectDir: root,
    configPath: join(root, "cog.yaml"),
  });
});

Deno.test("-f with a sub-path keeps the project dir at the directory where it matched", () => {
  const root = tempDir();
  Deno.mkdirSync(join(root, "configs"));
  Deno.writeTextFileSync(join(root, "configs", "gpu.yaml"), "");
  assertEquals(findConfig({ cwd: root, file: "configs/gpu.yaml" }).projectDir, root);
});

Deno.test("a missing cog.yaml names the file and the directory searched", () => {
  const dir = tempDir();
  const err = caught(() => findConfig({ cwd: dir, file: "nope.yaml" }), ConfigError);
  assertEquals(
    err.message,
    `nope.yaml: not found in ${dir} (or in any parent directories). Create one, or point at it with -f/--file.`,
  );
});

Deno.test("loadConfig checks python_requirements against the project dir", async () => {
  const root = tempDir();
  Deno.writeTextFileSync(
    join(root, "cog.yaml"),
    'build:\n  python_version: "3.11"\n  python_requirements: requirements.txt\n',
  );
  const err = await caughtAsync(() => loadConfig({ cwd: root }), ConfigError);
  assertEquals(
    err.message,
    'cog.yaml:3: invalid build.python_requirements "requirements.txt": file does not exist',
  );
  Deno.writeTextFileSync(join(root, "requirements.txt"), "numpy==2.0.0\n");
  const loaded = await loadConfig({ cwd: root });
  assertEquals(loaded.projectDir, root);
  assertEquals(loaded.config.build.python_requirements, "requirements.txt");
});

Deno.test("the default image name is cog-<dir>, lowercased, sanitized and cut to 26 characters", () => {
  assertEquals(defaultImageName("/x/My Model"), "cog-my-model");
  assertEquals(defaultImageName("/x/cog-thing"), "cog-thing");
  assertEquals(defaultImageName("/x/" + "a".repeat(40)), "cog-" + "a".repeat(26));
});
