// Shared by the Docker e2e tests: the docker client to use, a subprocess runner
// that never throws, and the skip rule (no engine: skip with a printed reason,
// unless COG_E2E_REQUIRE_DOCKER=1 says the engine must be there).

/** The docker client ($DOCKER, else `docker` on PATH). */
export const DOCKER = Deno.env.get("DOCKER") ?? "docker";

const decoder = new TextDecoder();

/** What a command printed and how it ended (code -1: it could not start). */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    return { code: -1, stdout: "", stderr: String(error) };
  }
}

/**
 * Why `file`'s tests cannot run (no client or no engine), printed as a SKIP
 * line, or null when the engine answers. Throws when COG_E2E_REQUIRE_DOCKER=1.
 */
export async function dockerSkipReason(file: string): Promise<string | null> {
  const r = await run(DOCKER, ["version", "--format", "{{.Server.Version}}"]);
  if (r.code === 0 && r.stdout.trim()) return null;
  const reason = r.code === -1
    ? `no docker client (${r.stderr.trim()})`
    : `no Docker engine reachable: ${r.stderr.trim().split("\n").at(-1)}`;
  if (Deno.env.get("COG_E2E_REQUIRE_DOCKER") === "1") {
    throw new Error(`e2e docker test required but ${reason}`);
  }
  console.log(`SKIP ${file}: ${reason}`);
  return reason;
}

const BASE_IMAGE_SCRIPT = new URL("../../scripts/e2e_base_image.sh", import.meta.url).pathname;

/**
 * Makes (once per engine) the offline base image the generated Dockerfiles use:
 * scripts/e2e_base_image.sh, a debootstrapped Debian with python3 tagged
 * python:3.11-slim. Throws with the script's stderr when it fails.
 */
export async function ensureBaseImage(): Promise<void> {
  const r = await run("bash", [BASE_IMAGE_SCRIPT, "python:3.11-slim"]);
  if (r.code !== 0) throw new Error(`the e2e base image could not be made:\n${r.stderr}`);
}
