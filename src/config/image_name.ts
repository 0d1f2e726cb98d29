// The default image name for a project: cog-<dir>, as Cog derives it.
import { basename } from "node:path";

/**
 * `cog-<dir>`: lowercased basename, spaces to `-`, only `[a-z0-9-]`, at most 26 chars,
 * and no double `cog-` prefix.
 *
 * @example
 * ```ts
 * defaultImageName("/home/me/My Model"); // "cog-my-model"
 * ```
 */
export function defaultImageName(projectDir: string): string {
  const name = basename(projectDir).toLowerCase().replaceAll(" ", "-").replace(/[^a-z0-9-]/g, "")
    .slice(0, 26);
  return name.startsWith("cog-") ? name : `cog-${name}`;
}
