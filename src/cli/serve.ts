// `cog serve`: flags, then either the no-Docker server on the host's python3
// (--no-docker, also the container entrypoint) or the Docker path.

import { parseArgs } from "node:util";
import { startServer } from "./server.ts";
import { parseEnvEntries } from "./_env.ts";
import { CliError } from "./_errors.ts";

/** Help text of `cog serve`. */
export const SERVE_HELP = `Run a prediction HTTP server.

Builds the environment in cog.yaml into a Docker image and runs the Cog HTTP
server in it, with the project mounted at /src. With --no-docker the server
runs straight on this machine's python3.

Usage:
  cog serve [flags]

Flags:
  -p, --port int                   Port on which to listen (default 8393)
      --host string                Host interface to publish on (default "127.0.0.1")
  -f, --file string                The name of the config file (default "cog.yaml")
      --upload-url string          Upload URL for file outputs (e.g. https://example.com/upload/)
  -e, --env NAME=VALUE             Environment variable for the model (repeatable)
      --gpus string                GPU devices to add to the container, in docker syntax
      --progress string            Build progress: auto, tty, plain or quiet (default "auto")
      --use-cog-base-image         Use a pre-built Cog base image (default true)
      --use-cuda-base-image string Use the Nvidia CUDA base image: true, false or auto (default "auto")
      --no-docker                  Run on this machine's python3 instead of Docker
      --await-explicit-shutdown    Ignore SIGTERM; stop only on POST /shutdown or SIGINT
      --x-mode string              "predict" (default) or "train": which function every request runs
      --watch                      Reload the predictor when a .py file or cog.yaml changes
  -h, --help                       Help for serve
`;

/** Parsed `cog serve` flags. */
export interface ServeFlags {
  port: number;
  host: string;
  file: string;
  uploadUrl?: string;
  env: string[];
  gpus?: string;
  progress?: string;
  useCogBaseImage?: boolean;
  useCudaBaseImage: string;
  noDocker: boolean;
  awaitExplicitShutdown: boolean;
  mode: "predict" | "train";
  watch: boolean;
}

/** Parses `cog serve` arguments; throws CliError with a usage message. */
export function parseServeFlags(args: string[]): ServeFlags | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: "string", short: "p" },
        host: { type: "string" },
        file: { type: "string", short: "f" },
        "upload-url": { type: "string" },
        env: { type: "string", short: "e", multiple: true },
        gpus: { type: "string" },
        progress: { type: "string" },
        "use-cog-base-image": { type: "string" },
        "use-cuda-base-image": { type: "string" },
        "no-docker": { type: "boolean" },
        "await-explicit-shutdown": { type: "string" },
        "x-mode": { type: "string" },
        watch: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\nRun 'cog serve --help' for usage.`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (parsed.positionals.length > 0) {
    throw new CliError(`accepts at most 0 arg(s), received ${parsed.positionals.length}`);
  }
  const port = v.port === undefined ? 8393 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(
      `invalid argument "${v.port}" for "-p, --port" flag: must be a port number 0-65535`,
    );
  }
  parseEnvEntries(v.env ?? []); // refuses a bad entry now, before anything starts
  const mode = v["x-mode"] ?? "predict";
  if (mode !== "predict" && mode !== "train") {
    throw new CliError(`invalid argument "${mode}" for "--x-mode" flag: must be predict or train`);
  }
  let useCogBaseImage: boolean | undefined;
  if (v["use-cog-base-image"] !== undefined) {
    const raw = v["use-cog-base-image"].toLowerCase();
    if (!["true", "false", "1", "0"].includes(raw)) {
      throw new CliError(
        `invalid argument "${
          v["use-cog-base-image"]
        }" for "--use-cog-base-image" flag: must be true or false`,
      );
    }
    useCogBaseImage = raw === "true" || raw === "1";
  }
  const awaitRaw = v["await-explicit-shutdown"];
  return {
    port,
    host: v.host ?? "127.0.0.1",
    file: v.file ?? "cog.yaml",
    uploadUrl: v["upload-url"] || undefined,
    env: v.env ?? [],
    gpus: v.gpus,
    progress: v.progress,
    useCogBaseImage,
    useCudaBaseImage: v["use-cuda-base-image"] ?? "auto",
    noDocker: v["no-docker"] ?? false,
    // Cog's launcher takes any non-empty value as "on" (argparse type=bool).
    awaitExplicitShutdown: awaitRaw !== undefined && awaitRaw !== "",
    mode,
    watch: v.watch ?? false,
  };
}

/** Runs `cog serve --no-docker`; resolves with the exit code. */
export async function serveNoDocker(flags: ServeFlags): Promise<number> {
  const env = parseEnvEntries(flags.env);
  const server = await startServer({
    cwd: Deno.cwd(),
    configFile: flags.file,
    port: flags.port,
    host: flags.host,
    uploadUrl: flags.uploadUrl,
    awaitExplicitShutdown: flags.awaitExplicitShutdown,
    mode: flags.mode,
    env,
    handleSignals: true,
    watch: flags.watch,
  });
  // The same banner as the Docker path: the address as bound, and how to stop.
  console.error(
    `Serving at ${server.url}\nStop with Ctrl+C or: curl -X POST ${server.url}/shutdown`,
  );
  return await server.finished;
}
