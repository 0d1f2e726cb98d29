// NAME=VALUE lists (the -e/--env flags, cog.yaml `environment:`) as objects,
// and the environment a model's server sees: the same with or without Docker.

import type { CogConfig } from "../config/mod.ts";
import { CliError } from "./_errors.ts";

/** Turns `NAME=VALUE` entries into an object; throws CliError naming the flag for a bad entry. */
export function parseEnvEntries(
  entries: readonly string[],
  flag = "-e, --env",
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry.slice(0, eq))) {
      throw new CliError(`invalid argument "${entry}" for "${flag}" flag: expected NAME=VALUE`);
    }
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/**
 * Whether this process runs in an image built from cog.yaml: its `ENV` lines (the predictor
 * stubs, as in Cog, with `environment:` and `concurrency.max`) are then already in the
 * environment, with `docker run -e` / a pod's `env:` over them.
 */
export function isImageEnvironment(env: Record<string, string | undefined>): boolean {
  return Boolean(env.COG_PREDICT_TYPE_STUB || env.COG_TRAIN_TYPE_STUB);
}

/**
 * What the image bakes in as `ENV` from cog.yaml (`environment:`, then
 * `concurrency.max` as `COG_MAX_CONCURRENCY`, which the Dockerfile writes later),
 * with the `-e` values over it, as `docker run -e` puts them: the variables a
 * model's server and worker get on top of the shell's environment.
 */
export function environmentOverlay(
  config: CogConfig,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const overlay = parseEnvEntries(config.environment ?? [], "environment");
  if (config.concurrency?.max !== undefined) {
    overlay.COG_MAX_CONCURRENCY = String(config.concurrency.max);
  }
  return { ...overlay, ...overrides };
}

/**
 * Set (to 1) in the containers `cog serve` and `cog run`/`cog train` start: their server then
 * prints no "Serving at http://0.0.0.0:5000" banner and no cog.yaml warnings, because the host
 * command already printed the warnings and shows the address the user can actually reach.
 */
export const QUIET_STARTUP_VAR = "COG_QUIET_STARTUP";
