// The model's OpenAPI document computed on the host (for the build's
// `run.cog.openapi_schema` label): the worker describes the predictor
// without running setup(). Null when the host cannot import it (e.g. the
// model needs packages that only exist in the image).

import type { CogConfig } from "../config/mod.ts";
import { buildOpenApiDocument, mergeOpenApiDocuments } from "../schema/mod.ts";
import { COG_VERSION } from "../server/wire.ts";
import { describePredictor } from "../worker/mod.ts";

/** OpenAPI document for a project, or null when it cannot be produced here. */
export async function projectSchema(projectDir: string, config: CogConfig): Promise<object | null> {
  const docs: Record<string, unknown>[] = [];
  const targets: ["predict" | "train", string | undefined][] = [["predict", config.run], [
    "train",
    config.train,
  ]];
  for (const [mode, ref] of targets) {
    if (!ref) continue;
    try {
      const d = await describePredictor({ cwd: projectDir, ref, mode, timeoutMs: 30_000 });
      docs.push(
        buildOpenApiDocument(d.signature, {
          mode,
          streaming: d.predictor.streaming,
          version: COG_VERSION,
        }),
      );
    } catch {
      return null;
    }
  }
  if (docs.length === 0) return null;
  return docs.length === 1 ? docs[0] : mergeOpenApiDocuments(docs[0], docs[1]);
}
