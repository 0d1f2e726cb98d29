// Finds, reads and validates cog.yaml for a working directory.
import { relative } from "node:path";
import { ConfigError } from "./config_error.ts";
import { findConfig } from "./find_config.ts";
import { parseConfig } from "./parse_config.ts";
import type { CogConfig } from "./cog_config.ts";

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Directory to search from (then its parents). */
  cwd: string;
  /** Config file name or relative path, default `cog.yaml` (the `-f/--file` flag). */
  file?: string;
}

/** A loaded config with where it came from. */
export interface LoadedConfig {
  config: CogConfig;
  /** Directory where the config file was found: mounted or copied to /src. */
  projectDir: string;
  configPath: string;
  /** Formatted `cog.yaml:3: ...` warnings for the caller to print. */
  warnings: string[];
  /** Line of each field path, for later errors (e.g. CUDA resolution). */
  lines: ReadonlyMap<string, number>;
}

/**
 * Finds the config from `cwd` upwards, parses and validates it.
 * Throws ConfigError (with file and line) on any problem.
 *
 * @example
 * ```ts
 * const { config, projectDir, warnings } = await loadConfig({ cwd: Deno.cwd() });
 * ```
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const { projectDir, configPath } = findConfig(options);
  const file = relative(projectDir, configPath) || configPath;
  let text: string;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (err) {
    throw new ConfigError({ file, message: `cannot be read: ${(err as Error).message}` });
  }
  const { config, warnings, lines } = parseConfig(text, { file, projectDir });
  return { config, projectDir, configPath, warnings, lines };
}
