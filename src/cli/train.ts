// `cog train`: deprecated in Cog but still there (and in many model READMEs). It
// runs cog.yaml's `train:` once, like `cog run` runs `run:`: inputs checked against
// the TrainingInput schema before anything starts, the result written to `weights`
// (cli-predict.md 8).

import { commandHelp, type CommandSpec, parseFlags } from "./_flags.ts";
import type { RunModelFlags } from "./_predict_request.ts";
import { runModel } from "./_run_model.ts";
import { sharedRunFlags } from "./predict.ts";

/** What `cog train` prints on stderr before anything else, even before its flags are parsed. */
export const TRAIN_DEPRECATION =
  `Command "train" is deprecated, the train command will be removed in a future version of Cog`;

/** `cog train`'s flags and help. */
export const TRAIN_COMMAND: CommandSpec = {
  use: "cog train [image] [flags]",
  long: `Run a training (deprecated).

If 'image' is passed, it runs the training on that Docker image (it must have
been built by cog). Otherwise it runs cog.yaml's train: in the current
directory: in the image built from cog.yaml, or with --no-docker on this
machine's python3. The result is written to ./weights unless -o says otherwise
(-o '' prints it).`,
  examples: `  # Train with named inputs; the result goes to ./weights
  cog train -i steps=100 -i data=@dataset.zip

  # On this machine's python3, writing the result elsewhere
  cog train --no-docker -i steps=10 -o trained.bin`,
  flags: [
    "input",
    "env",
    { name: "output", defaultText: '"weights"' },
    "file",
    "no-docker",
    "gpus",
    "progress",
    "use-cog-base-image",
    "use-cuda-base-image",
    "dockerfile",
  ],
  maxArgs: 1,
};

/** Help text of `cog train`. */
export const TRAIN_HELP: string = commandHelp(TRAIN_COMMAND);

/** Runs `cog train` (after main printed {@linkcode TRAIN_DEPRECATION}); resolves with the exit code. */
export async function runTrain(args: string[]): Promise<number> {
  const parsed = parseFlags(TRAIN_COMMAND, args);
  if (parsed.bool("help")) {
    console.log(TRAIN_HELP);
    return 0;
  }
  const output = parsed.string("output") ?? "weights";
  const flags: RunModelFlags = {
    mode: "train",
    image: parsed.positionals[0],
    inputs: parsed.strings("input"),
    // `-o ''` shows the result instead of writing it.
    output: output === "" ? undefined : output,
    // Cog's train has no --setup-timeout: 300 s.
    setupTimeout: 300,
    useReplicateToken: false,
    ...sharedRunFlags(parsed),
  };
  return await runModel(flags);
}
