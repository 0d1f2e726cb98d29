// `cog serve`: flags, then either the no-Docker server on the host's python3
// (--no-docker, also the container entrypoint) or the Docker path.

import { startServer } from "./server.ts";
import { parseEnvEntries } from "./_env.ts";
import { CliError } from "./_errors.ts";
import { commandHelp, type CommandSpec, parseFlags } from "./_flags.ts";

/** `cog serve`'s flags and help. */
export const SERVE_COMMAND: CommandSpec = {
  use: "cog serve [flags]",
  long: `Run a prediction HTTP server.

Builds the environment in cog.yaml into a Docker image and runs the Cog HTTP
server in it, with the project mounted at /src. With --no-docker the server
runs straight on this machine's python3.

Settings such as COG_SETUP_TIMEOUT come from the shell's environment, then
cog.yaml's environment:, then -e (each over the one before), with or without
Docker.`,
  examples: `  # Serve the model in the current directory on http://localhost:8393
  cog serve

  # Without Docker, on all interfaces, port 5000, with a setting for the server
  cog serve --no-docker --host 0.0.0.0 -p 5000 -e COG_SETUP_TIMEOUT=600`,
  flags: [
    "port",
    "host",
    "file",
    "upload-url",
    "env",
    "gpus",
    "progress",
    "use-cog-base-image",
    "use-cuda-base-image",
    "dockerfile",
    "no-docker",
    "await-explicit-shutdown",
    "x-mode",
    "watch",
  ],
  maxArgs: 0,
};

/** Help text of `cog serve`. */
export const SERVE_HELP: string = commandHelp(SERVE_COMMAND);

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
  const parsed = parseFlags(SERVE_COMMAND, args);
  if (parsed.bool("help")) return "help";
  const portText = parsed.string("port");
  const port = portText === undefined ? 8393 : Number(portText);
  if (portText?.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(
      `invalid argument "${portText}" for "-p, --port" flag: must be a port number 0-65535`,
    );
  }
  const env = parsed.strings("env");
  parseEnvEntries(env); // refuses a bad entry now, before anything starts
  const mode = parsed.string("x-mode") ?? "predict";
  if (mode !== "predict" && mode !== "train") {
    throw new CliError(`invalid argument "${mode}" for "--x-mode" flag: must be predict or train`);
  }
  return {
    port,
    host: parsed.string("host") ?? "127.0.0.1",
    file: parsed.string("file") ?? "cog.yaml",
    uploadUrl: parsed.string("upload-url") || undefined,
    env,
    gpus: parsed.string("gpus"),
    progress: parsed.string("progress"),
    useCogBaseImage: parsed.bool("use-cog-base-image"),
    useCudaBaseImage: parsed.string("use-cuda-base-image") ?? "auto",
    noDocker: parsed.bool("no-docker") ?? false,
    awaitExplicitShutdown: parsed.bool("await-explicit-shutdown") ?? false,
    mode,
    watch: parsed.bool("watch") ?? false,
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
  // The address as bound, and how to stop; left out in a container that `cog serve` / `cog run`
  // started (COG_QUIET_STARTUP), whose host side prints the address the user can reach.
  if (!server.quiet) {
    console.error(
      `Serving at ${server.url}\nStop with Ctrl+C or: curl -X POST ${server.url}/shutdown`,
    );
  }
  return await server.finished;
}
