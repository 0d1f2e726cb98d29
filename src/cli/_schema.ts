// The model's OpenAPI document computed by the worker's signature introspection
// (the same code the server runs at setup, without running setup()): for
// `cog run`/`cog train` preflight, the build's schema check and its
// `run.cog.openapi_schema` label, and `cog openapi-schema` inside an image.

import type { CogConfig } from "../config/mod.ts";
import {
  buildOpenApiDocument,
  createInputValidator,
  mergeOpenApiDocuments,
} from "../schema/mod.ts";
import { COG_VERSION } from "../server/mod.ts";
import { describePredictor } from "../worker/mod.ts";

/**
 * Why no schema could be made. `invalid`: the predictor was loaded and its signature is
 * refused (a build must fail). `unavailable`: it could not be loaded here (e.g. a package
 * that only exists in the image), so nothing is known yet.
 */
export class ModelSchemaError extends Error {
  override name = "ModelSchemaError";
  readonly kind: "invalid" | "unavailable";
  constructor(kind: "invalid" | "unavailable", message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Cog's message when cog.yaml names no predictor at all. */
export const NO_PREDICTOR_MESSAGE = "no predict or train reference found in cog.yaml";

const SIGNATURE_ERROR = "SignatureError: ";

/** Options for {@linkcode modelSchema}. */
export interface ModelSchemaOptions {
  projectDir: string;
  ref: string;
  mode: "predict" | "train";
  /** Environment for the worker (cog.yaml `environment:`, -e). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** The OpenAPI document of one predictor (predict or train); throws ModelSchemaError. */
export async function modelSchema(options: ModelSchemaOptions): Promise<Record<string, unknown>> {
  let described;
  try {
    described = await describePredictor({
      cwd: options.projectDir,
      ref: options.ref,
      mode: options.mode,
      env: options.env,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const first = message.split("\n")[0];
    // An annotation this python3 cannot evaluate (`int | None` before 3.10) may be fine on the
    // image's Python; an undefined name (NameError) is wrong everywhere.
    const versionDependent = first.includes("could not resolve the type annotations") &&
      !first.includes(": NameError: ");
    if (first.startsWith(SIGNATURE_ERROR) && !versionDependent) {
      throw new ModelSchemaError(
        "invalid",
        `Model schema is invalid: ${first.slice(SIGNATURE_ERROR.length)}`,
      );
    }
    throw new ModelSchemaError("unavailable", `Failed to load model schema: ${message}`);
  }
  try {
    createInputValidator(described.signature); // what the server compiles at setup
    return buildOpenApiDocument(described.signature, {
      mode: options.mode,
      streaming: described.predictor.streaming,
      version: COG_VERSION,
    });
  } catch (error) {
    // e.g. a regex that is not a valid ECMAScript pattern
    throw new ModelSchemaError("invalid", `Model schema is invalid: ${(error as Error).message}`);
  }
}

/**
 * The project's document (predict and train merged when both are configured); throws
 * ModelSchemaError, `invalid` when cog.yaml names neither.
 */
export async function projectOpenApiSchema(
  projectDir: string,
  config: CogConfig,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const docs: Record<string, unknown>[] = [];
  const targets: ["predict" | "train", string | undefined][] = [
    ["predict", config.run],
    ["train", config.train],
  ];
  for (const [mode, ref] of targets) {
    if (ref) docs.push(await modelSchema({ projectDir, ref, mode, ...options }));
  }
  if (docs.length === 0) throw new ModelSchemaError("invalid", NO_PREDICTOR_MESSAGE);
  return docs.length === 1 ? docs[0] : mergeOpenApiDocuments(docs[0], docs[1]);
}

/** OpenAPI document for a project, or null when it cannot be produced here. */
export async function projectSchema(projectDir: string, config: CogConfig): Promise<object | null> {
  try {
    return await projectOpenApiSchema(projectDir, config, { timeoutMs: 30_000 });
  } catch {
    return null;
  }
}
