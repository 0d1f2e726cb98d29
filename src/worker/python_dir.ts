// Where the `cog` Python package lives: $COG_PYTHON_DIR, the repo's python/
// when running from source, or (compiled binary) a copy extracted from the
// binary into a cache directory, because Python cannot read Deno's embedded files.

const SDK_FILES_MARKER = "cog/__init__.py";

let cached: string | null = null;

/** The directory to put first on the worker's PYTHONPATH. */
export function resolvePythonDir(): string {
  if (cached) return cached;
  const fromEnv = Deno.env.get("COG_PYTHON_DIR");
  if (fromEnv) return cached = fromEnv;
  const bundled = new URL("../../python/", import.meta.url);
  const bundledPath = decodeURIComponent(bundled.pathname);
  if (!isCompiled()) return cached = bundledPath.replace(/\/$/, "");
  return cached = extractEmbedded(bundledPath);
}

function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-") || import.meta.url.includes("/deno-compile-");
}

function extractEmbedded(embeddedRoot: string): string {
  const version = Deno.env.get("COG_VERSION_OVERRIDE") ?? "0.1.0";
  const base = Deno.env.get("XDG_CACHE_HOME") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : "/tmp");
  const target = `${base}/cog-deno/python-${version}-${fingerprint(embeddedRoot)}`;
  try {
    Deno.statSync(`${target}/${SDK_FILES_MARKER}`);
    return target;
  } catch {
    // not extracted yet
  }
  const staging = `${target}.tmp-${Deno.pid}`;
  copyTree(embeddedRoot, staging);
  try {
    Deno.renameSync(staging, target);
  } catch {
    Deno.removeSync(staging, { recursive: true }); // another process won the race
  }
  return target;
}

function fingerprint(root: string): string {
  let h = 2166136261;
  const walk = (dir: string) => {
    for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else {
        for (const byte of Deno.readFileSync(path)) h = Math.imul(h ^ byte, 16777619);
      }
    }
  };
  walk(root.replace(/\/$/, "") + "/cog");
  return (h >>> 0).toString(16);
}

function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    if (entry.name === "__pycache__" || entry.name === "tests") continue;
    const src = `${from.replace(/\/$/, "")}/${entry.name}`;
    const dst = `${to}/${entry.name}`;
    if (entry.isDirectory) copyTree(src, dst);
    else Deno.writeFileSync(dst, Deno.readFileSync(src));
  }
}
