// Labels a `cog build` image carries (passed as --label arguments). Pure.
import type { CogConfig } from "../config/mod.ts";

/** Inputs for {@linkcode imageLabels}. */
export interface ImageLabelsOptions {
  /** cog's own version. */
  version: string;
  /** OpenAPI schema of the model; the label is left out when null. */
  schema?: object | null;
  /** Resolved CUDA/cuDNN, written into the effective config. */
  cuda?: { cuda: string; cudnn: string };
}

/** `run.cog.version`, `run.cog.config` (effective config as JSON), `run.cog.openapi_schema`. */
export function imageLabels(
  config: CogConfig,
  options: ImageLabelsOptions,
): Record<string, string> {
  const effective = structuredClone(config);
  if (options.cuda && config.build.gpu) {
    effective.build.cuda = options.cuda.cuda;
    effective.build.cudnn = options.cuda.cudnn;
  }
  const labels: Record<string, string> = {
    "run.cog.version": options.version,
    "run.cog.config": JSON.stringify(effective),
    "run.cog.has_init": "true",
  };
  if (options.schema) labels["run.cog.openapi_schema"] = JSON.stringify(options.schema);
  return labels;
}
