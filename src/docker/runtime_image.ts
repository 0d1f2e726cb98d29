// The cog runtime every model image shares: one image per cog version
// (`cog-runtime:<version>-<key>`), built once from a directory in the user's cache and
// copied into each model right after its FROM line. It holds only what runs: the pinned
// Deno, the server bundled into one JavaScript file (`deno bundle`) or the compiled `cog`
// binary, and the stdlib-only Python SDK, with fixed modes and mtimes so the layer is
// byte-identical wherever it is built from the same inputs.

import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import { RUNTIME_DIR, RUNTIME_IMAGE_DOCKERFILE } from "../build/mod.ts";
import { type Spawn, spawnProcess } from "../process/mod.ts";
import { buildArgs, type BuilderKind } from "./build_args.ts";
import type { DockerClient } from "./docker_client.ts";
import { DockerError, lastLine } from "./docker_error.ts";
import type { CogRuntime } from "./stage_build_context.ts";

/** The one Deno version this project runs on (deno.json "denoVersion"). */
export const PINNED_DENO_VERSION: string = (denoJson as { denoVersion: string }).denoVersion;

/** Repository of the runtime images. */
export const RUNTIME_IMAGE_REPOSITORY = "cog-runtime";

/** Every file and directory of the runtime gets this mtime (reproducible layers). */
const FIXED_MTIME = new Date("2020-01-01T00:00:00Z");

/** Bumped when the runtime's layout changes without its inputs changing. */
const LAYOUT = "3";

/** Options for {@linkcode ensureRuntimeImage}. */
export interface RuntimeImageOptions {
  runtime: CogRuntime;
  docker: DockerClient;
  builder: BuilderKind;
  progress?: string;
  /** Where runtime directories are cached (default `$XDG_CACHE_HOME/cog-deno/runtime`). */
  cacheRoot?: string;
  spawn?: Spawn;
  /** Progress lines for the user. */
  log?: (line: string) => void;
  env?: { get(name: string): string | undefined };
}

/** The default cache directory for runtime directories. */
export function defaultRuntimeCache(env: { get(name: string): string | undefined } = Deno.env) {
  const base = env.get("XDG_CACHE_HOME") ||
    // no home (a bare CI or container shell): the temp dir, never the project folder
    (env.get("HOME")
      ? join(env.get("HOME")!, ".cache")
      : join(env.get("TMPDIR") || tmpdir(), "cog-cache"));
  return join(base, "cog-deno", "runtime");
}

/**
 * The runtime image's tag for this cog: `cog-runtime:<version>-<16 hex>`, the hex being a
 * hash of everything that goes into it (sources or binary, Python SDK, Deno version).
 */
export async function runtimeImageTag(runtime: CogRuntime): Promise<string> {
  const parts: string[] = [`layout ${LAYOUT}`, `deno ${PINNED_DENO_VERSION}`];
  const hash = new Hasher();
  if (runtime.kind === "source") {
    for (const f of ["main.ts", "deno.json", "deno.lock"]) {
      await hash.file(join(runtime.repoDir, f), f, true);
    }
    await hash.tree(join(runtime.repoDir, "src"), "src");
  } else {
    const info = await Deno.stat(runtime.binary);
    parts.push(`binary ${info.size} ${info.mtime?.getTime()} ${Deno.version.deno}`);
  }
  await hash.tree(join(runtime.pythonDir, "cog"), "python/cog");
  hash.text(parts.join("\n"));
  const version = (denoJson as { version: string }).version;
  return `${RUNTIME_IMAGE_REPOSITORY}:${version}-${(await hash.digest()).slice(0, 16)}`;
}

/**
 * Makes sure the runtime image `tag` exists in the Docker engine: nothing to do when it
 * does; otherwise the runtime directory is built (or found) in the cache and the image is
 * built from it. Returns whether a build happened.
 */
export async function ensureRuntimeImage(
  tag: string,
  options: RuntimeImageOptions,
): Promise<{ built: boolean; dir?: string }> {
  if (await options.docker.imageExists(tag)) return { built: false };
  const log = options.log ?? (() => {});
  log(`Preparing the cog runtime image ${tag} (once per cog version)...`);
  const cacheRoot = options.cacheRoot ?? defaultRuntimeCache(options.env);
  const dir = join(cacheRoot, tag.slice(tag.indexOf(":") + 1));
  await ensureRuntimeDir(dir, options);
  const command = buildArgs({
    builder: options.builder,
    dockerfile: join(dir, "Dockerfile"),
    tag,
    context: join(dir, "context"),
    progress: options.progress,
    labels: { "org.opencontainers.image.title": "cog runtime (shared by every model image)" },
  });
  await step(log, `building ${tag}`, () => options.docker.build(command, { cwd: dir }));
  return { built: true, dir };
}

/** Builds the runtime directory at `dir` unless it is already there (atomic rename). */
export async function ensureRuntimeDir(
  dir: string,
  options: Pick<RuntimeImageOptions, "runtime" | "spawn" | "log">,
): Promise<void> {
  if (await exists(join(dir, "Dockerfile"))) return;
  const log = options.log ?? (() => {});
  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: ".staging-" });
  try {
    await fillRuntimeDir(staging, options.runtime, options.spawn ?? spawnProcess, log);
    const size = await treeSize(staging);
    await fixMetadata(staging);
    try {
      await Deno.rename(staging, dir);
    } catch (error) {
      if (!(await exists(join(dir, "Dockerfile")))) throw error;
      // another cog built it at the same time: theirs is identical
    }
    log(`  runtime ready: ${(size / 1e6).toFixed(1)} MB in ${dir}`);
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** Writes the runtime's files: `Dockerfile`, and `context/opt/cog/...` (the image's only files). */
async function fillRuntimeDir(
  dir: string,
  runtime: CogRuntime,
  spawn: Spawn,
  log: (line: string) => void,
): Promise<void> {
  const root = join(dir, "context", RUNTIME_DIR.replace(/^\//, ""));
  await Deno.mkdir(join(root, "bin"), { recursive: true });
  await Deno.writeTextFile(join(dir, "Dockerfile"), RUNTIME_IMAGE_DOCKERFILE);
  await copyTree(join(runtime.pythonDir, "cog"), join(root, "python", "cog"));

  if (runtime.kind === "compiled") {
    await Deno.copyFile(runtime.binary, join(root, "bin", "cog"));
    await Deno.chmod(join(root, "bin", "cog"), 0o755);
    return;
  }
  const deno = await pinnedDeno(runtime, spawn, log);
  await step(
    log,
    "copying Deno " + PINNED_DENO_VERSION,
    () => Deno.copyFile(deno, join(root, "deno")),
  );
  const bundle = join(root, "cog.js");
  await step(log, "bundling the server into one JavaScript file", async () => {
    const r = await spawn(deno, [
      "bundle",
      "--platform",
      "deno",
      "--config",
      join(runtime.repoDir, "deno.json"),
      "--output",
      bundle,
      "main.ts",
    ], { cwd: runtime.repoDir, env: { NO_COLOR: "1" } }).status;
    if (r.code !== 0) {
      throw new DockerError(
        `could not bundle cog for the image (deno bundle exit code ${r.code}): ${
          lastLine(r.stderrTail)
        }`,
        { exitCode: r.code, stderrTail: r.stderrTail },
      );
    }
    await makePortable(bundle, runtime.repoDir, deno, spawn);
  });
  const unstable = ((denoJson as { unstable?: string[] }).unstable ?? [])
    .map((flag) => ` --unstable-${flag}`).join("");
  await Deno.writeTextFile(
    join(root, "bin", "cog"),
    "#!/bin/sh\n" +
      "# cog in the image: the pinned Deno running the bundled server. No config file (the\n" +
      "# model's own deno.json, if any, is not ours), no lock file, no network for code.\n" +
      "export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1\n" +
      `exec ${RUNTIME_DIR}/deno run -A --no-config --no-lock --no-remote --no-npm${unstable} ` +
      `${RUNTIME_DIR}/cog.js "$@"\n`,
  );
  await Deno.chmod(join(root, "bin", "cog"), 0o755);
  await Deno.chmod(join(root, "deno"), 0o755);
}

/** The pinned Deno's executable: this one, or npm's `deno` package at that version. */
async function pinnedDeno(
  runtime: Extract<CogRuntime, { kind: "source" }>,
  spawn: Spawn,
  log: (line: string) => void,
): Promise<string> {
  if (Deno.version.deno === PINNED_DENO_VERSION) return runtime.deno;
  log(`  this is Deno ${Deno.version.deno}; fetching the pinned ${PINNED_DENO_VERSION} from npm`);
  let r;
  try {
    r = await spawn("npx", [
      "-y",
      `deno@${PINNED_DENO_VERSION}`,
      "eval",
      "console.log(Deno.execPath())",
    ], { env: { NO_COLOR: "1" } }).status;
  } catch {
    r = { code: -1, stdout: "", stderrTail: "npx was not found" };
  }
  const path = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0 || !path) {
    throw new DockerError(
      `the image runtime needs Deno ${PINNED_DENO_VERSION} (deno.json "denoVersion"), this is ${Deno.version.deno}, and \`npx -y deno@${PINNED_DENO_VERSION}\` failed: ${
        lastLine(r.stderrTail) || "no output"
      }. Run cog with ./deno (the pinned version).`,
    );
  }
  return path;
}

/**
 * esbuild names npm modules by their path relative to the working directory, i.e. where
 * this machine's DENO_DIR is; those names become `npm/...` so the bundle is the same on
 * every machine.
 */
async function makePortable(
  bundle: string,
  repoDir: string,
  deno: string,
  spawn: Spawn,
): Promise<void> {
  const r = await spawn(deno, ["info", "--json"], { cwd: repoDir, env: { NO_COLOR: "1" } })
    .status;
  let npmCache = "";
  try {
    npmCache = (JSON.parse(r.stdout) as { npmCache?: string }).npmCache ?? "";
  } catch {
    // unknown layout: leave the names as they are
  }
  if (!npmCache) return;
  const prefix = `${relative(repoDir, npmCache)}/`;
  const text = await Deno.readTextFile(bundle);
  if (text.includes(prefix)) await Deno.writeTextFile(bundle, text.replaceAll(prefix, "npm/"));
}

/** Modes 0755 (dirs, executables) / 0644 and one fixed mtime, deepest entries first. */
async function fixMetadata(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      await fixMetadata(path);
      await Deno.chmod(path, 0o755);
    } else {
      const executable = ((await Deno.stat(path)).mode ?? 0) & 0o111;
      await Deno.chmod(path, executable ? 0o755 : 0o644);
    }
    await Deno.utime(path, FIXED_MTIME, FIXED_MTIME);
  }
  await Deno.chmod(dir, 0o755);
  await Deno.utime(dir, FIXED_MTIME, FIXED_MTIME);
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    total += entry.isDirectory ? await treeSize(path) : (await Deno.stat(path)).size;
  }
  return total;
}

/** Copies a tree (also out of a compiled binary's embedded files), skipping caches. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.name === "__pycache__" || entry.name.endsWith(".pyc")) continue;
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory) await copyTree(src, dst);
    else await Deno.writeFile(dst, await Deno.readFile(src));
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

/** Runs one long step: a line when it ends (with its time), and a reminder every 10 s. */
async function step<T>(log: (line: string) => void, what: string, fn: () => Promise<T>) {
  const t0 = performance.now();
  const timer = setInterval(
    () => log(`  still ${what}... (${((performance.now() - t0) / 1000).toFixed(0)} s)`),
    10_000,
  );
  try {
    const result = await fn();
    log(`  ${what}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** SHA-256 over named inputs, in a fixed order. */
class Hasher {
  #parts: Uint8Array[] = [];
  #encoder = new TextEncoder();

  text(value: string): void {
    this.#parts.push(this.#encoder.encode(`${value}\n`));
  }

  async file(path: string, name: string, optional = false): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (optional && error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    this.text(`${name} ${bytes.length}`);
    this.#parts.push(bytes);
  }

  async tree(dir: string, name: string): Promise<void> {
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name === "__pycache__" || entry.name.endsWith(".pyc")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory) await this.tree(path, `${name}/${entry.name}`);
      else await this.file(path, `${name}/${entry.name}`);
    }
  }

  async digest(): Promise<string> {
    const total = this.#parts.reduce((n, p) => n + p.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of this.#parts) {
      all.set(p, at);
      at += p.length;
    }
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
    return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
}
