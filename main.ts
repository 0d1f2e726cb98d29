// cog for Deno: the command line entry point. Only this file exits.

import { CliError } from "./src/cli/_errors.ts";
import { createOutput } from "./src/cli/_output.ts";
import { runPredict } from "./src/cli/predict.ts";
import { parseServeFlags, SERVE_HELP, serveNoDocker } from "./src/cli/serve.ts";
import { runTrain, TRAIN_DEPRECATION } from "./src/cli/train.ts";
import { COG_VERSION } from "./src/server/wire.ts";

const HELP = `cog (Deno edition) ${COG_VERSION}: containers for machine learning models.

Usage:
  cog <command> [flags]

Commands:
  serve     Run a prediction HTTP server (Docker, or --no-docker on python3)
  build     Build an image from cog.yaml
  run       Run one prediction (also: predict)
  train     Run one training (deprecated)
  version   Print the version

Run 'cog <command> --help' for a command's flags.
`;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
    case "help":
      console.log(HELP);
      return 0;
    case "--version":
    case "version":
      console.log(`cog version ${COG_VERSION} (deno ${Deno.version.deno})`);
      return 0;
    case "serve": {
      const flags = parseServeFlags(rest);
      if (flags === "help") {
        console.log(SERVE_HELP);
        return 0;
      }
      if (flags.noDocker) return await serveNoDocker(flags);
      const { serveWithDocker } = await import("./src/cli/_serve_docker.ts");
      return await serveWithDocker(flags);
    }
    case "build": {
      const { runBuild } = await import("./src/cli/build.ts");
      return await runBuild(rest);
    }
    case "run":
      return await runPredict(rest);
    case "predict":
      return await runPredict(rest, { deprecatedName: true });
    case "train":
      // Cog prints this first, before flags are parsed and even for --help.
      console.error(TRAIN_DEPRECATION);
      return await runTrain(rest);
    case "openapi-schema": {
      const { runOpenApiSchema } = await import("./src/cli/openapi_schema.ts");
      return await runOpenApiSchema(rest);
    }
    default:
      throw new CliError(`unknown command "${command}" for "cog"\nRun 'cog --help' for usage.`);
  }
}

if (import.meta.main) {
  let code: number;
  const output = createOutput();
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (error instanceof CliError && error.usage) {
      // Flag and argument errors: the command's usage, then the error (as Cog prints them).
      await Deno.stderr.write(new TextEncoder().encode(`${error.usage}\n`));
    }
    output.error(error instanceof Error ? error.message : String(error));
    code = error instanceof CliError ? error.exitCode : 1;
  }
  Deno.exit(code);
}
