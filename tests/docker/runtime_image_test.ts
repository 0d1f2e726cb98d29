// The shared runtime, without a Docker engine: its tag follows its inputs, its directory
// is reproducible (fixed modes and mtimes, no machine-specific path, byte-identical when
// built twice) and under 100 MB, the bundled server really serves a prediction from it,
// and the image is built only when the engine lacks it. (tests/e2e/ covers the layers.)

import { assert, assertEquals } from "../_assert.ts";
import { join } from "node:path";
import {
  type DockerClient,
  type DockerCommand,
  ensureRuntimeDir,
  ensureRuntimeImage,
  PINNED_DENO_VERSION,
  runtimeImageTag,
} from "../../src/docker/mod.ts";
import { FIXTURES } from "../_helpers.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const SOURCE = {
  kind: "source" as const,
  deno: Deno.execPath(),
  repoDir: REPO,
  pythonDir: join(REPO, "python"),
};

async function listTree(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  const entries = [];
  for await (const e of Deno.readDir(join(dir, rel))) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    const info = await Deno.lstat(join(dir, path));
    out.push(
      `${path} ${(info.mode! & 0o777).toString(8)} ${info.mtime!.toISOString()} ${
        e.isDirectory ? "dir" : info.size
      }`,
    );
    if (e.isDirectory) out.push(...await listTree(dir, path));
  }
  return out;
}

Deno.test("the runtime image's tag is cog-runtime:<version>-<hash of its inputs> and follows every input", async () => {
  const repo = await Deno.makeTempDir({ prefix: "cog-test-repo-" });
  try {
    await Deno.mkdir(join(repo, "src"), { recursive: true });
    await Deno.mkdir(join(repo, "python", "cog", "__pycache__"), { recursive: true });
    await Deno.writeTextFile(join(repo, "main.ts"), "console.log(1);\n");
    await Deno.writeTextFile(join(repo, "deno.json"), "{}\n");
    await Deno.writeTextFile(join(repo, "src", "a.ts"), "export const a = 1;\n");
    await Deno.writeTextFile(join(repo, "python", "cog", "__init__.py"), "x = 1\n");
    const runtime = {
      kind: "source" as const,
      deno: Deno.execPath(),
      repoDir: repo,
      pythonDir: join(repo, "python"),
    };
    const first = await runtimeImageTag(runtime);
    assert(/^cog-runtime:\d+\.\d+\.\d+-[0-9a-f]{16}$/.test(first), first);
    assertEquals(await runtimeImageTag(runtime), first, "stable");
    await Deno.writeTextFile(join(repo, "python", "cog", "__pycache__", "x.pyc"), "junk");
    assertEquals(await runtimeImageTag(runtime), first, "caches do not count");
    await Deno.writeTextFile(join(repo, "python", "cog", "__init__.py"), "x = 2\n");
    const second = await runtimeImageTag(runtime);
    assert(second !== first, "the Python SDK counts");
    await Deno.writeTextFile(join(repo, "src", "a.ts"), "export const a = 2;\n");
    assert((await runtimeImageTag(runtime)) !== second, "the sources count");
  } finally {
    await Deno.remove(repo, { recursive: true });
  }
});

Deno.test("the runtime directory is reproducible, under 100 MB, holds only what runs, and its bundled server serves a prediction", async () => {
  const work = await Deno.makeTempDir({ prefix: "cog-test-runtime-" });
  const lines: string[] = [];
  try {
    await ensureRuntimeDir(join(work, "one"), { runtime: SOURCE, log: (l) => lines.push(l) });
    await ensureRuntimeDir(join(work, "two"), { runtime: SOURCE });
    assert(lines.some((l) => l.includes("bundling the server")), lines.join("\n"));
    assert(lines.some((l) => /runtime ready: \d+\.\d MB/.test(l)), lines.join("\n"));

    const one = await listTree(join(work, "one"));
    assertEquals(one, await listTree(join(work, "two")), "same modes, mtimes and sizes");
    for (const rel of ["context/opt/cog/cog.js", "context/opt/cog/bin/cog"]) {
      const a = await Deno.readFile(join(work, "one", rel));
      const b = await Deno.readFile(join(work, "two", rel));
      assertEquals(a, b, `${rel} byte-identical`);
    }
    assert(one.every((l) => l.includes(" 2020-01-01T00:00:00.000Z ")), one.join("\n"));
    const names = one.map((l) => l.split(" ")[0]);
    assertEquals(
      names.filter((n) => !n.startsWith("context/opt/cog/python/cog/")),
      [
        "Dockerfile",
        "context",
        "context/opt",
        "context/opt/cog",
        "context/opt/cog/bin",
        "context/opt/cog/bin/cog",
        "context/opt/cog/cog.js",
        "context/opt/cog/deno",
        "context/opt/cog/python",
        "context/opt/cog/python/cog",
      ],
    );
    assert(!names.some((n) => n.includes("__pycache__")));
    assert(one.find((l) => l.startsWith("context/opt/cog/bin/cog "))!.includes(" 755 "));
    assert(one.find((l) => l.startsWith("context/opt/cog/cog.js "))!.includes(" 644 "));
    const total = one.filter((l) => !l.endsWith(" dir")).reduce(
      (sum, l) => sum + Number(l.split(" ").at(-1)),
      0,
    );
    assert(total <= 100e6, `runtime is ${total} bytes`);
    const bundle = await Deno.readTextFile(join(work, "one", "context/opt/cog/cog.js"));
    assert(!bundle.includes(".cache/deno/npm"), "no machine-specific DENO_DIR path");
    assert(!bundle.includes(REPO), "no path of this checkout");
    assert(bundle.includes("// npm/registry.npmjs.org/hono/"), "npm modules named portably");
    const wrapper = await Deno.readTextFile(join(work, "one", "context/opt/cog/bin/cog"));
    assert(wrapper.includes("--no-config"), wrapper);

    // The bundle is the server: run it the way bin/cog does, on a real project.
    const opt = join(work, "one", "context/opt/cog");
    const port = (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = (l.addr as Deno.NetAddr).port;
      l.close();
      return p;
    })();
    const args = wrapper.split("\n").find((l) => l.startsWith("exec "))!
      .replace(/^exec /, "").replace(' "$@"', "").replaceAll("/opt/cog", opt).split(" ");
    assertEquals(args[0], join(opt, "deno"));
    const child = new Deno.Command(args[0], {
      args: [...args.slice(1), "serve", "--no-docker", "-p", String(port)],
      cwd: join(FIXTURES, "echo"),
      env: { COG_PYTHON_DIR: join(opt, "python") },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream());
    let log = "";
    const reading = (async () => {
      for await (const chunk of stderr) log += chunk;
    })();
    try {
      const deadline = Date.now() + 30_000;
      while (true) {
        const status = await fetch(`http://127.0.0.1:${port}/health-check`).then((r) => r.json())
          .then((b) => b.status, () => null);
        if (status === "READY") break;
        assert(Date.now() < deadline, `not READY:\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await fetch(`http://127.0.0.1:${port}/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { text: "bundled" } }),
      });
      const body = await r.json();
      assertEquals(body.status, "succeeded", JSON.stringify(body));
    } finally {
      await fetch(`http://127.0.0.1:${port}/shutdown`, { method: "POST" })
        .then((r) => r.body?.cancel(), () => child.kill("SIGKILL"));
      await child.status;
      await reading;
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("the runtime image is built once: not when the engine has it, from the cached directory when it does not", async () => {
  const cache = await Deno.makeTempDir({ prefix: "cog-test-runtime-cache-" });
  const builds: DockerCommand[] = [];
  let present = true;
  const docker = {
    imageExists: () => Promise.resolve(present),
    build: (command: DockerCommand) => {
      builds.push(command);
      return Promise.resolve();
    },
  } as unknown as DockerClient;
  try {
    const tag = await runtimeImageTag(SOURCE);
    const options = { runtime: SOURCE, docker, builder: "classic" as const, cacheRoot: cache };
    assertEquals(await ensureRuntimeImage(tag, options), { built: false });
    assertEquals(builds.length, 0);
    present = false;
    const lines: string[] = [];
    const result = await ensureRuntimeImage(tag, { ...options, log: (l) => lines.push(l) });
    assertEquals(result.built, true);
    const dir = join(cache, tag.slice(tag.indexOf(":") + 1));
    assertEquals(result.dir, dir);
    assertEquals(builds.length, 1);
    assertEquals(builds[0].args, [
      "build",
      "--file",
      join(dir, "Dockerfile"),
      "--tag",
      tag,
      "--label",
      "org.opencontainers.image.title=cog runtime (shared by every model image)",
      join(dir, "context"),
    ]);
    assert(lines[0].startsWith(`Preparing the cog runtime image ${tag}`), lines.join("\n"));
    assert(lines.some((l) => l.includes(`building ${tag}: done in`)), lines.join("\n"));
    assertEquals(PINNED_DENO_VERSION, Deno.version.deno);
    // A second engine miss reuses the directory: no bundling again.
    lines.length = 0;
    await ensureRuntimeImage(tag, { ...options, log: (l) => lines.push(l) });
    assert(!lines.some((l) => l.includes("bundling")), lines.join("\n"));
    assertEquals(builds.length, 2);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
