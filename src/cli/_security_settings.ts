// The server's hardening settings read from the environment (docs/reliability.md,
// "Threats and defences"): which file inputs are accepted, how large an output
// file may be, which other origins may drive the server, and how long a
// request body may take. Kept apart from readSettings (Cog's own variables).

import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MAX_OUTPUT_FILE_BYTES } from "../server/mod.ts";

/** Hardening settings (all have safe defaults). */
export interface SecuritySettings {
  /** COG_ALLOW_LOCAL_FILE_INPUTS=1: Path/File inputs may be local paths (trusted setups only). */
  allowLocalFileInputs: boolean;
  /** COG_MAX_OUTPUT_FILE_BYTES: largest output file the server reads (default 10 GiB). */
  maxOutputFileBytes: number;
  /** COG_ALLOWED_ORIGINS: other origins (comma or space separated, `*` for any) that may POST. */
  allowedOrigins: string[];
  /** COG_HTTP_REQUEST_TIMEOUT (s): time for a create request's body to arrive (default 60). */
  bodyTimeoutMs: number;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["", "0", "false", "no", "off"]);

function flag(env: Record<string, string | undefined>, name: string): boolean {
  const raw = (env[name] ?? "").trim().toLowerCase();
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new Error(`${name}=${env[name]} is not a boolean: use 1 or 0`);
}

function positive(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  unit: string,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name}=${raw} is not a positive number of ${unit}`);
  }
  return value;
}

/** `https://App.example.com/` -> `https://app.example.com`; `*` stays; anything else throws. */
function origin(value: string): string {
  if (value === "*") return value;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.pathname.length > 1 || url.search) {
    throw new Error(
      `COG_ALLOWED_ORIGINS: "${value}" is not an origin like https://example.com (or *)`,
    );
  }
  return url.origin;
}

/** Reads the hardening settings; throws an Error naming the variable when one is malformed. */
export function readSecuritySettings(env: Record<string, string | undefined>): SecuritySettings {
  const origins = (env.COG_ALLOWED_ORIGINS ?? "").split(/[\s,]+/).filter((o) => o !== "");
  return {
    allowLocalFileInputs: flag(env, "COG_ALLOW_LOCAL_FILE_INPUTS"),
    maxOutputFileBytes: Math.floor(
      positive(env, "COG_MAX_OUTPUT_FILE_BYTES", DEFAULT_MAX_OUTPUT_FILE_BYTES, "bytes"),
    ),
    allowedOrigins: origins.map(origin),
    bodyTimeoutMs: positive(
      env,
      "COG_HTTP_REQUEST_TIMEOUT",
      DEFAULT_BODY_TIMEOUT_MS / 1000,
      "seconds",
    ) * 1000,
  };
}
