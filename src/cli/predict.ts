// `cog run` / `cog predict`: one prediction from the command line. Inputs are
// checked against the model's schema before anything starts; the model then
// runs through the same server as `cog serve` (on python3 with --no-docker,
// or in the project's image / a given image with Docker); text outputs go to
// stdout, file outputs to files (cli-predict.md).

import { CliError } from "./_errors.ts";
import { commandHelp, type CommandSpec, type ParsedFlags, parseFlags } from "./_flags.ts";
import type { RunModelFlags } from "./_predict_request.ts";
import { runModel } from "./_run_model.ts";

/** `cog run`'s flags and help (`cog predict` is the same command under its old name). */
export const PREDICT_COMMAND: CommandSpec = {
  use: "cog run [image] [flags]",
  long: `Run a prediction.

If 'image' is passed, it runs the prediction on that Docker image (it must
have been built by cog). Otherwise it runs the model in the current directory:
in the image built from cog.yaml, or with --no-docker on this machine's python3.`,
  examples: `  # Run a prediction with named inputs
  cog run -i prompt="a photo of a cat" -i steps=20

  # Pass a local file as input
  cog run -i image=@photo.jpg

  # Inputs as JSON (from a file, or - for stdin); the result is printed as JSON too
  cog run --json @inputs.json

  # Run on an image built with 'cog build', writing the output to a file
  cog run my-model -i prompt=hello -o out.txt`,
  flags: [
    "input",
    "json",
    "output",
    "env",
    "file",
    "setup-timeout",
    "no-docker",
    "gpus",
    "progress",
    "use-cog-base-image",
    "use-cuda-base-image",
    "use-replicate-token",
    "dockerfile",
  ],
  maxArgs: 1,
};

/** Help text of `cog run` / `cog predict`. */
export const PREDICT_HELP: string = commandHelp(PREDICT_COMMAND);

/** The flags every one-shot command shares (build options, -e, -f, --no-docker, --gpus). */
export function sharedRunFlags(
  parsed: ParsedFlags,
): Pick<
  RunModelFlags,
  | "env"
  | "file"
  | "noDocker"
  | "gpus"
  | "progress"
  | "useCogBaseImage"
  | "useCudaBaseImage"
> {
  return {
    env: parsed.strings("env"),
    file: parsed.string("file") ?? "cog.yaml",
    noDocker: parsed.bool("no-docker") ?? false,
    gpus: parsed.string("gpus"),
    progress: parsed.string("progress"),
    useCogBaseImage: parsed.bool("use-cog-base-image"),
    useCudaBaseImage: parsed.string("use-cuda-base-image"),
  };
}

function parsePredictFlags(args: string[]): RunModelFlags | "help" {
  const parsed = parseFlags(PREDICT_COMMAND, args);
  if (parsed.bool("help")) return "help";
  const image = parsed.positionals[0];
  if (image?.includes("=")) {
    throw new CliError(`Invalid image name '${image}'. Did you forget \`-i\`?`);
  }
  const json = parsed.string("json") || undefined;
  const inputs = parsed.strings("input");
  if (json && inputs.length > 0) {
    throw new CliError("Must use one of --json or --input to provide model inputs");
  }
  const timeoutText = parsed.string("setup-timeout");
  const setupTimeout = timeoutText === undefined ? 300 : Number(timeoutText);
  if (
    timeoutText?.trim() === "" || !Number.isInteger(setupTimeout) || setupTimeout < 0 ||
    setupTimeout > 0xffffffff
  ) {
    throw new CliError(`invalid argument "${timeoutText}" for "--setup-timeout" flag`);
  }
  return {
    mode: "predict",
    image,
    inputs,
    json,
    output: parsed.string("output"),
    setupTimeout,
    useReplicateToken: parsed.bool("use-replicate-token") ?? false,
    ...sharedRunFlags(parsed),
  };
}

/** Runs `cog run` (or `cog predict`); resolves with the exit code. */
export async function runPredict(
  args: string[],
  options: { deprecatedName?: boolean } = {},
): Promise<number> {
  const flags = parsePredictFlags(args);
  if (flags === "help") {
    console.log(PREDICT_HELP);
    return 0;
  }
  if (options.deprecatedName) console.error(`"cog predict" is deprecated, use "cog run"`);
  return await runModel(flags);
}
