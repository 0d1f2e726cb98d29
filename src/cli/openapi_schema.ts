// `cog openapi-schema` (hidden): prints the model's OpenAPI document, made by the
// same signature introspection the server runs at setup, or fails with the reason.
// `cog build` runs it inside the image it built when the host cannot load the model.

import { loadConfig } from "../config/mod.ts";
import { environmentOverlay, isImageEnvironment } from "./_env.ts";
import { CliError } from "./_errors.ts";
import { commandHelp, type CommandSpec, parseFlags } from "./_flags.ts";
import { ModelSchemaError, projectOpenApiSchema } from "./_schema.ts";

/** `cog openapi-schema`'s flags and help. */
export const OPENAPI_SCHEMA_COMMAND: CommandSpec = {
  use: "cog openapi-schema [flags]",
  long: `Print the model's OpenAPI schema as JSON (the one /openapi.json serves).

It loads the predictor without running setup(). An input type or constraint the
server would refuse makes it fail with the reason, as 'cog build' does.`,
  examples: `  cog openapi-schema > schema.json`,
  flags: ["file"],
  maxArgs: 0,
};

/** Runs `cog openapi-schema`; resolves with the exit code. */
export async function runOpenApiSchema(args: string[]): Promise<number> {
  const parsed = parseFlags(OPENAPI_SCHEMA_COMMAND, args);
  if (parsed.bool("help")) {
    console.log(commandHelp(OPENAPI_SCHEMA_COMMAND));
    return 0;
  }
  const { config, projectDir } = await loadConfig({
    cwd: Deno.cwd(),
    file: parsed.string("file"),
  });
  try {
    const doc = await projectOpenApiSchema(projectDir, config, {
      // In an image cog.yaml's environment is already there (ENV lines).
      env: isImageEnvironment(Deno.env.toObject()) ? {} : environmentOverlay(config),
      timeoutMs: 120_000,
    });
    console.log(JSON.stringify(doc));
    return 0;
  } catch (error) {
    if (error instanceof ModelSchemaError) throw new CliError(error.message);
    throw error;
  }
}
