// NAME=VALUE lists (the -e/--env flags, cog.yaml `environment:`) as objects.

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
