// cog for Deno: the command line entry point. Only this file exits.

import { CliError } from "./src/cli/_errors.ts";
import { runPredict } from "./src/cli/predict.ts";
import { projectSchema } from "./src/cli/_schema.ts";
import { parseServeFlags, SERVE_HELP, serveNoDocker } from "./src/cli/serve.ts";
import { ConfigError } from "./src/config/mod.ts";
import { COG_VERSION } from "./src/server/wire.ts";

const HELP = `cog (Deno edition) ${COG_VERSION}: containers for machine learning models.

Usage:
  cog <command> [flags]

Commands:
  serve     Run a prediction HTTP server (Docker, or --no-docker on python3)
  build     Build an image from cog.yaml
  run       Run one prediction (also: predict)
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
      return await runBuild(rest, { schemaProvider: projectSchema });
    }
    case "run":
      return await runPredict(rest);
    case "predict":
      return await runPredict(rest, { deprecatedName: true });
    default:
      throw new CliError(`unknown command "${command}" for "cog"\nRun 'cog --help' for usage.`);
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (error instanceof CliError || error instanceof ConfigError) {
      console.error(`✗ ${error.message}`);
      code = error instanceof CliError ? error.exitCode : 1;
    } else if (error instanceof Error) {
      console.error(`✗ ${error.message}`);
      code = 1;
    } else {
      console.error(`✗ ${String(error)}`);
      code = 1;
    }
  }
  Deno.exit(code);
}
