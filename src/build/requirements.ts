// Reads pip requirements (python_requirements file text or python_packages) and rewrites
// them for the image: torch wheel index, no `cog`/`coglet` (our SDK is bundled). Pure.

/** One requirement line, with its package name and first pinned version, if any. */
export interface Requirement {
  line: string;
  name?: string;
  version?: string;
}

/** Splits requirements text: joins `\` continuations, drops comments and `-e .`. */
export function parseRequirements(text: string): Requirement[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  const out: Requirement[] = [];
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "" || /^-e\s+\.$/.test(line)) continue;
    const m =
      /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(?:(===|==|>=|~=|<=|>|<|!=)\s*([^\s,;]+))?/
        .exec(line);
    if (!m || line.startsWith("-")) {
      out.push({ line });
      continue;
    }
    out.push({ line, name: m[1].toLowerCase().replaceAll("_", "-"), version: m[4] });
  }
  return out;
}

/** The first requirement named `name`. */
export function findRequirement(
  reqs: readonly Requirement[],
  name: string,
): Requirement | undefined {
  return reqs.find((r) => r.name === name);
}

/** Options for {@linkcode rewriteRequirements}. */
export interface RewriteRequirementsOptions {
  /** Torch wheel index tag (`cpu`, `cu128`), when torch is pinned. */
  torchIndex?: string;
}

/** The staged requirements.txt and the warnings produced while writing it. */
export interface RewrittenRequirements {
  text: string;
  warnings: string[];
}

/**
 * Rewrites requirements for the image: index options first, then a torch wheel index when
 * torch is pinned, then the packages; `cog`/`coglet` lines are removed with a warning.
 */
export function rewriteRequirements(
  reqs: readonly Requirement[],
  options: RewriteRequirementsOptions = {},
): RewrittenRequirements {
  const warnings: string[] = [];
  const indexLines: string[] = [];
  const packages: string[] = [];
  for (const r of reqs) {
    if (r.name === "cog" || r.name === "coglet") {
      warnings.push(
        `'${r.line}' found in requirements — removed: the Cog Python SDK is bundled with this cog.`,
      );
      continue;
    }
    if (/^--(find-links|extra-index-url|index-url)\b/.test(r.line)) indexLines.push(r.line);
    else packages.push(r.line);
  }
  const hasTorch = reqs.some((r) =>
    r.name === "torch" || r.name === "torchvision" || r.name === "torchaudio"
  );
  if (hasTorch && options.torchIndex) {
    indexLines.push(`--extra-index-url https://download.pytorch.org/whl/${options.torchIndex}/`);
  }
  const lines = [...indexLines, ...packages];
  return { text: lines.length ? lines.join("\n") + "\n" : "", warnings };
}
