// One run of the model from the command line (`cog run`/`cog predict`, `cog train`):
// with Docker (the project's image or a given one, see _predict_docker.ts) or, with
// --no-docker, through the same server `cog serve --no-docker` runs, on python3.
// Inputs are checked against the model's schema before anything starts.

import { loadConfig } from "../config/mod.ts";
import { environmentOverlay, parseEnvEntries } from "./_env.ts";
import { CliError } from "./_errors.ts";
import {
  prepareInputs,
  requestAndHandle,
  type RunModelFlags,
  waitUntilReady,
} from "./_predict_request.ts";
import { modelSchema, ModelSchemaError, NO_PREDICTOR_MESSAGE } from "./_schema.ts";
import { startServer } from "./server.ts";

/** Runs the model once; resolves with the exit code. */
export async function runModel(flags: RunModelFlags): Promise<number> {
  if (flags.image || !flags.noDocker) {
    const { runModelWithDocker } = await import("./_predict_docker.ts");
    return await runModelWithDocker(flags);
  }
  const { config, projectDir, warnings } = await loadConfig({ cwd: Deno.cwd(), file: flags.file });
  for (const warning of warnings) console.error(warning);
  const ref = flags.mode === "train" ? config.train : config.run;
  if (!ref) {
    throw new CliError(
      flags.mode === "train" && config.run
        ? 'no train reference found in cog.yaml: add e.g. train: "train.py:train"'
        : NO_PREDICTOR_MESSAGE,
    );
  }
  const env = parseEnvEntries(flags.env);
  let doc: Record<string, unknown>;
  try {
    doc = await modelSchema({
      projectDir,
      ref,
      mode: flags.mode,
      env: environmentOverlay(config, env),
    });
  } catch (error) {
    if (error instanceof ModelSchemaError) throw new CliError(error.message);
    throw error;
  }
  const input = await prepareInputs(flags, doc);

  console.error("Starting the model and running setup()...");
  const server = await startServer({
    cwd: Deno.cwd(),
    configFile: flags.file,
    port: 0,
    host: "127.0.0.1",
    env,
    // Like Cog's `--x-mode train` container: only the trainer is loaded.
    mode: flags.mode,
    configWarnings: false, // printed above
  });
  try {
    await waitUntilReady(server.url, flags.setupTimeout);
    return await requestAndHandle(server.url, input, doc, flags);
  } finally {
    await server.shutdown();
  }
}
