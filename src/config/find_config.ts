// Finds cog.yaml: the cwd, then each parent directory, like Cog does.
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "./config_error.ts";

/** Options for {@linkcode findConfig}. */
export interface FindConfigOptions {
  /** Directory to start from. */
  cwd: string;
  /** Config file name or relative path (default `cog.yaml`), joined onto each candidate dir. */
  file?: string;
}

/** Where the config was found. The project dir is the dir where `file` matched. */
export interface FoundConfig {
  projectDir: string;
  configPath: string;
}

const MAX_PARENTS = 100;

/**
 * Looks for `<dir>/<file>` from `cwd` upwards. Throws ConfigError when nothing matches.
 *
 * @example
 * ```ts
 * const { projectDir } = findConfig({ cwd: "/proj/sub/dir" }); // "/proj" if /proj/cog.yaml exists
 * ```
 */
export function findConfig(options: FindConfigOptions): FoundConfig {
  const file = options.file || "cog.yaml";
  const start = resolve(options.cwd);
  let dir = start;
  for (let i = 0; i < MAX_PARENTS; i++) {
    const candidate = join(dir, file);
    if (isFile(candidate)) return { projectDir: dir, configPath: candidate };
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new ConfigError({
    file,
    message: `not found in ${start} (or in any parent directories). ` +
      `Create one, or point at it with -f/--file.`,
  });
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
