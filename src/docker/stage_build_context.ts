// Stages <project>/.cog/build/: the Dockerfile, requirements.txt and, for builds without
// named contexts, a copy of the project source. The runtime is not staged here: it comes
// from the shared runtime image (runtime_image.ts), built once per cog version.
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

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
  /** Copy the project source to `source/` (builds without named contexts). */
  copySource?: boolean;
  /** Also write `Dockerfile.dockerignore` (main context = project): user's rules + `.cog`. */
  projectIgnore?: boolean;
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

  // Left by cogs that staged the runtime into every project.
  await Deno.remove(join(dir, "runtime"), { recursive: true }).catch(() => {});

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

async function writeIfChanged(path: string, text: string): Promise<void> {
  const current = await Deno.readTextFile(path).catch(() => null);
  if (current !== text) await Deno.writeTextFile(path, text);
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
