// Stages <project>/.cog/build/: the Dockerfile, requirements.txt, the runtime (this cog,
// as compiled binary or as deno + sources + a pre-filled DENO_DIR, plus the Python SDK) and,
// for builds without named contexts, a copy of the project source.
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Spawn, spawnProcess } from "../process/mod.ts";
import { DockerError, lastLine } from "./docker_error.ts";

/** How this cog is running, which decides what goes into the image. */
export type CogRuntime =
  | { kind: "compiled"; binary: string; pythonDir: string }
  | { kind: "source"; deno: string; repoDir: string; pythonDir: string };

/** The repo root this module belongs to (a virtual dir inside a compiled binary). */
const REPO_URL = new URL("../../", import.meta.url);

/** Detects how cog runs: `deno run` (source) or a `deno compile` binary. */
export function detectRuntime(execPath: string = Deno.execPath()): CogRuntime {
  const repoDir = fileURLToPath(REPO_URL);
  const pythonDir = join(repoDir, "python");
  const compiled = import.meta.url.includes("/deno-compile-") ||
    !/^deno(\.exe)?$/.test(basename(execPath));
  if (!compiled) return { kind: "source", deno: execPath, repoDir, pythonDir };
  return { kind: "compiled", binary: execPath, pythonDir };
}

/** Options for {@linkcode stageBuildContext}. */
export interface StageOptions {
  projectDir: string;
  dockerfile: string;
  /** requirements.txt content, or null. */
  requirements: string | null;
  runtime: CogRuntime;
  /** Copy the project source to `source/` (builds without named contexts). */
  copySource?: boolean;
  /** Also write `Dockerfile.dockerignore` (main context = project): user's rules + `.cog`. */
  projectIgnore?: boolean;
  spawn?: Spawn;
  /** Progress lines for the user. */
  log?: (line: string) => void;
}

/** Where things were staged. */
export interface StagedContext {
  dir: string;
  dockerfile: string;
}

/** Source directory names never copied into an image. */
const SOURCE_EXCLUDES = new Set([".cog", ".git", "__pycache__"]);

/** Stages everything the Dockerfile COPYs. Idempotent; unchanged files are not rewritten. */
export async function stageBuildContext(options: StageOptions): Promise<StagedContext> {
  const dir = join(options.projectDir, ".cog", "build");
  await Deno.mkdir(dir, { recursive: true });
  const dockerfile = join(dir, "Dockerfile");
  await writeIfChanged(dockerfile, options.dockerfile);
  const reqPath = join(dir, "requirements.txt");
  if (options.requirements !== null) await writeIfChanged(reqPath, options.requirements);
  else await Deno.remove(reqPath).catch(() => {});

  if (options.projectIgnore) {
    const user = await Deno.readTextFile(join(options.projectDir, ".dockerignore")).catch(() => "");
    await writeIfChanged(
      join(dir, "Dockerfile.dockerignore"),
      `${user.trimEnd()}\n.cog\n`.trimStart(),
    );
  } else {
    await Deno.remove(join(dir, "Dockerfile.dockerignore")).catch(() => {});
  }

  await stageRuntime(join(dir, "runtime"), options);

  const sourceDir = join(dir, "source");
  await Deno.remove(sourceDir, { recursive: true }).catch(() => {});
  if (options.copySource) {
    const ignored = await readIgnore(options.projectDir);
    await copyTree(
      options.projectDir,
      sourceDir,
      (rel) => !SOURCE_EXCLUDES.has(rel.split("/")[0]) && !ignored(rel),
    );
  }
  return { dir, dockerfile };
}

async function stageRuntime(runtimeDir: string, options: StageOptions): Promise<void> {
  const { runtime } = options;
  const bin = join(runtimeDir, "bin");
  await Deno.mkdir(bin, { recursive: true });
  await Deno.remove(join(runtimeDir, "python"), { recursive: true }).catch(() => {});
  await copyTree(
    join(runtime.pythonDir, "cog"),
    join(runtimeDir, "python", "cog"),
    (rel) => !rel.includes("__pycache__"),
  );

  if (runtime.kind === "compiled") {
    await copyIfChanged(runtime.binary, join(bin, "cog"));
    await Deno.chmod(join(bin, "cog"), 0o755);
    await Deno.remove(join(runtimeDir, "app"), { recursive: true }).catch(() => {});
    await Deno.remove(join(runtimeDir, "deno"), { recursive: true }).catch(() => {});
    await Deno.mkdir(join(runtimeDir, "deno_dir"), { recursive: true });
    return;
  }

  // From source: deno itself, the program, and a DENO_DIR filled with its npm packages.
  await copyIfChanged(runtime.deno, join(runtimeDir, "deno"));
  await Deno.chmod(join(runtimeDir, "deno"), 0o755);
  const app = join(runtimeDir, "app");
  await Deno.remove(join(app, "src"), { recursive: true }).catch(() => {});
  await copyTree(join(runtime.repoDir, "src"), join(app, "src"), () => true);
  for (const f of ["main.ts", "deno.json", "deno.lock"]) {
    const from = join(runtime.repoDir, f);
    if (await exists(from)) await copyIfChanged(from, join(app, f));
  }
  await writeIfChanged(
    join(bin, "cog"),
    `#!/bin/sh\n# cog from source: deno with a pre-filled DENO_DIR, no network needed.\n` +
      `export DENO_DIR="\${DENO_DIR:-/opt/cog/deno_dir}"\n` +
      `exec /opt/cog/deno run -A --cached-only --config /opt/cog/app/deno.json /opt/cog/app/main.ts "$@"\n`,
  );
  await Deno.chmod(join(bin, "cog"), 0o755);
  const denoDir = join(runtimeDir, "deno_dir");
  await Deno.mkdir(denoDir, { recursive: true });
  options.log?.("Caching cog's own dependencies for the image...");
  const spawn = options.spawn ?? spawnProcess;
  const r = await spawn(runtime.deno, [
    "cache",
    "--config",
    join(app, "deno.json"),
    join(app, "main.ts"),
  ], {
    cwd: app,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
  }).status;
  if (r.code !== 0) {
    throw new DockerError(
      `could not cache cog's dependencies for the image (deno cache exit code ${r.code}): ${
        lastLine(r.stderrTail)
      }`,
      { exitCode: r.code, stderrTail: r.stderrTail },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeIfChanged(path: string, text: string): Promise<void> {
  const current = await Deno.readTextFile(path).catch(() => null);
  if (current !== text) await Deno.writeTextFile(path, text);
}

async function copyIfChanged(from: string, to: string): Promise<void> {
  const [a, b] = await Promise.all([Deno.stat(from), Deno.stat(to).catch(() => null)]);
  if (b && b.size === a.size && b.mtime && a.mtime && b.mtime.getTime() >= a.mtime.getTime()) {
    return;
  }
  await Deno.mkdir(dirname(to), { recursive: true });
  await Deno.copyFile(from, to);
}

/** Recursive copy that also works on a compiled binary's embedded files. */
async function copyTree(
  from: string,
  to: string,
  keep: (rel: string) => boolean,
  rel = "",
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (!keep(r)) continue;
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory) await copyTree(src, dst, keep, r);
    else if (entry.isFile) await Deno.writeFile(dst, await Deno.readFile(src));
    else if (entry.isSymlink) {
      const info = await Deno.stat(src).catch(() => null);
      if (info?.isFile) await Deno.writeFile(dst, await Deno.readFile(src));
    }
  }
}

/** A small .dockerignore reader: exact paths, `dir/`, and `*` globs on path segments. */
async function readIgnore(projectDir: string): Promise<(rel: string) => boolean> {
  const text = await Deno.readTextFile(join(projectDir, ".dockerignore")).catch(() => "");
  const patterns = text.split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l && !l.startsWith("#") && !l.startsWith("!")
  )
    .map((p) => p.replace(/^\.?\//, "").replace(/\/$/, ""))
    .map((p) =>
      new RegExp(
        `^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}(/|$)`,
      )
    );
  return (rel) => patterns.some((re) => re.test(rel));
}
