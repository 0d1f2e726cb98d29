// The Docker half of `deno task bench` (scripts/bench.ts): builds two different models
// with `cog build` on the engine, then reports the shared runtime layer (size, digest,
// how many layers the two images share), cold boot (`docker run` -> /health-check READY)
// and the time `cog build` takes again after predict.py is edited. Everything it makes
// (images, containers, temp dirs) is removed at the end. Uses the user's runtime cache,
// like cog itself: whether the runtime image had to be prepared first is reported.

// deno-lint-ignore-file no-explicit-any

const decoder = new TextDecoder();

/** What the Docker section measured, or why it did not run. */
export type DockerFigures = { skipped: string } | DockerMeasured;

/** The Docker figures of one run. */
export interface DockerMeasured {
  base_image: string;
  base_layers: number;
  runtime_image: string;
  runtime_layer: string;
  runtime_layer_bytes: number;
  runtime_layer_shared: boolean;
  layers: { a: number; b: number; shared: number };
  image_bytes: { base: number; a: number; b: number };
  first_build_ms: { a: number; b: number };
  runtime_prepared_in_first_build: boolean;
  rebuild_after_edit_ms: number;
  rebuild_steps: { cached: number; total: number };
  cold_boot_ms: number[];
}

/** Options for {@linkcode measureDocker}. */
export interface MeasureDockerOptions {
  root: string;
  deno: string;
  log: (text: string) => void;
  coldBoots: number;
}

async function run(cmd: string, args: string[], options: { cwd?: string } = {}) {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    return { code: -1, stdout: "", stderr: String(error) };
  }
}

async function inspect(image: string, format: string): Promise<any> {
  const r = await run("docker", ["image", "inspect", "--format", format, image]);
  if (r.code !== 0) throw new Error(`docker image inspect ${image}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

function model(greeting: string, yaml: string) {
  return {
    "cog.yaml": yaml,
    "predict.py": `from cog import BasePredictor\n\n\nclass Predictor(BasePredictor):\n` +
      `    def predict(self, text: str = "x") -> str:\n        return "${greeting} " + text\n`,
  };
}

/** Builds, inspects and boots two models; returns the figures or the reason it skipped. */
export async function measureDocker(options: MeasureDockerOptions): Promise<DockerFigures> {
  const { root, deno, log } = options;
  const engine = await run("docker", ["version", "--format", "{{.Server.Version}}"]);
  if (engine.code !== 0 || !engine.stdout.trim()) {
    return { skipped: `no Docker engine reachable (${engine.stderr.trim().split("\n").at(-1)})` };
  }
  const baseImage = "python:3.11-slim";
  const made = await run("bash", [`${root}/scripts/e2e_base_image.sh`, baseImage]);
  if (made.code !== 0) {
    return { skipped: `no base image ${baseImage}: ${made.stderr.trim().split("\n").at(-1)}` };
  }
  const work = await Deno.makeTempDir({ prefix: "cog-bench-docker-" });
  const tags = ["cog-bench-model-a", "cog-bench-model-b"];
  const containers: string[] = [];
  try {
    const dirs = [`${work}/model-a`, `${work}/model-b`];
    const sources = [
      model(
        "hello",
        'build:\n  python_version: "3.11"\n  run: ["echo a > /a"]\nrun: "predict.py:Predictor"\n',
      ),
      model(
        "bonjour",
        'build:\n  python_version: "3.11"\nenvironment: ["B=1"]\nrun: "predict.py:Predictor"\n',
      ),
    ];
    for (const [i, dir] of dirs.entries()) {
      await Deno.mkdir(dir);
      for (const [name, text] of Object.entries(sources[i])) {
        await Deno.writeTextFile(`${dir}/${name}`, text);
      }
    }
    const build = async (i: number) => {
      const t0 = performance.now();
      const r = await run(
        deno,
        ["run", "-A", `${root}/main.ts`, "build", "-t", tags[i], "--progress", "plain"],
        { cwd: dirs[i] },
      );
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`cog build ${tags[i]} failed:\n${r.stderr.slice(-2000)}`);
      return { ms, log: r.stderr };
    };
    log("docker: cog build of two different models");
    const a = await build(0);
    const b = await build(1);
    const runtimeImage = /cog-runtime:[\w.-]+/.exec(
      await Deno.readTextFile(`${dirs[0]}/.cog/build/Dockerfile`),
    )?.[0] ?? "?";

    const base = await inspect(baseImage, "{{json .RootFS.Layers}}") as string[];
    const layersA = await inspect(tags[0], "{{json .RootFS.Layers}}") as string[];
    const layersB = await inspect(tags[1], "{{json .RootFS.Layers}}") as string[];
    let shared = 0;
    while (shared < layersA.length && layersA[shared] === layersB[shared]) shared++;
    // The runtime layer's size: the first step after the base's in the history (oldest
    // first), i.e. the COPY right after FROM.
    const historySizes = async (image: string) =>
      (await run("docker", [
        "history",
        "--no-trunc",
        "--human=false",
        "--format",
        "{{.Size}}",
        image,
      ]))
        .stdout.trim().split("\n").reverse().map(Number);
    const runtimeBytes = (await historySizes(tags[0]))[(await historySizes(baseImage)).length] ??
      NaN;

    log(`docker: cold boot (docker run -> READY) x${options.coldBoots}`);
    const coldBoots: number[] = [];
    for (let i = 0; i < options.coldBoots; i++) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const name = `cog-bench-boot-${crypto.randomUUID().slice(0, 8)}`;
      containers.push(name);
      const t0 = performance.now();
      const started = await run("docker", [
        "run",
        "-d",
        "--rm",
        "--name",
        name,
        "-p",
        `127.0.0.1:${port}:5000`,
        tags[0],
      ]);
      if (started.code !== 0) throw new Error(`docker run failed: ${started.stderr}`);
      while (true) {
        const status = await fetch(`http://127.0.0.1:${port}/health-check`)
          .then((r) => r.json()).then((body) => body.status, () => null);
        if (status === "READY") break;
        if (performance.now() - t0 > 60_000) throw new Error("the image never became READY");
        await new Promise((r) => setTimeout(r, 5));
      }
      coldBoots.push(performance.now() - t0);
      await run("docker", ["rm", "-f", name]);
    }

    log("docker: cog build again after editing predict.py");
    await Deno.writeTextFile(
      `${dirs[0]}/predict.py`,
      sources[0]["predict.py"].replace('"hello "', '"hi "'),
    );
    const again = await build(0);
    const steps = [...again.log.matchAll(/^Step \d+\/(\d+)/gm)];
    const cached = (again.log.match(/Using cache|CACHED/g) ?? []).length;
    const total = steps.length > 0
      ? Number(steps[0][1])
      : (again.log.match(/^#\d+ \[/gm) ?? []).length;

    return {
      base_image: baseImage,
      base_layers: base.length,
      runtime_image: runtimeImage,
      runtime_layer: layersA[base.length],
      runtime_layer_bytes: runtimeBytes,
      runtime_layer_shared: layersA[base.length] === layersB[base.length],
      layers: { a: layersA.length, b: layersB.length, shared },
      image_bytes: {
        base: await inspect(baseImage, "{{json .Size}}"),
        a: await inspect(tags[0], "{{json .Size}}"),
        b: await inspect(tags[1], "{{json .Size}}"),
      },
      first_build_ms: { a: a.ms, b: b.ms },
      runtime_prepared_in_first_build: a.log.includes("Preparing the cog runtime image"),
      rebuild_after_edit_ms: again.ms,
      rebuild_steps: { cached, total },
      cold_boot_ms: coldBoots,
    };
  } finally {
    for (const name of containers) await run("docker", ["rm", "-f", name]);
    for (const tag of tags) await run("docker", ["image", "rm", "-f", tag]);
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
