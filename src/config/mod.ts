// cog.yaml: find it (cwd upwards), parse it (keeping version spellings), validate it with
// zod and Cog's messages, located by file and line.
//
// @example
// ```ts
// import { loadConfig } from "./src/config/mod.ts";
// const { config, projectDir, warnings } = await loadConfig({ cwd: Deno.cwd() });
// ```

export { ConfigError, type ConfigIssue, formatIssue } from "./config_error.ts";
export { findConfig, type FindConfigOptions, type FoundConfig } from "./find_config.ts";
export {
  describe,
  parseConfig,
  type ParseConfigOptions,
  type ParsedConfig,
} from "./parse_config.ts";
export { loadConfig, type LoadConfigOptions, type LoadedConfig } from "./load_config.ts";
export { defaultImageName } from "./image_name.ts";
export {
  type BuildConfig,
  type CogConfig,
  DEFAULT_PYTHON_VERSION,
  type RunMount,
  type RunStep,
} from "./cog_config.ts";
