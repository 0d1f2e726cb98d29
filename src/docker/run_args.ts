// Argument list for `docker run` of the serve container. Pure.

/** Options for {@linkcode runArgs}. */
export interface RunArgsOptions {
  image: string;
  /** Container name, so it can be stopped and removed reliably. */
  name: string;
  /** Host port published to container port 5000. */
  port: number;
  /** Host interface the port is published on. */
  host: string;
  projectDir: string;
  /** `--gpus` value, or undefined for none. */
  gpus?: string;
  /** `NAME=VALUE` entries passed with -e. */
  env?: string[];
  /** Adds `--add-host host.docker.internal:host-gateway` (for --upload-url). */
  addHostGateway?: boolean;
  /** Command run in the container. */
  command: string[];
  shmSize?: string;
}

/** Formats `host:port` for `-p`, bracketing IPv6 hosts. */
export function publishSpec(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${h}:${port}:5000`;
}

/**
 * `docker run --rm --name ... -p host:port:5000 -v <project>:/src -w /src ... <image> <command>`.
 *
 * @example
 * ```ts
 * runArgs({ image: "cog-hello", name: "cog-serve-hello-1", port: 8393, host: "127.0.0.1",
 *   projectDir: "/p", command: ["cog", "serve", "--no-docker"] });
 * ```
 */
export function runArgs(options: RunArgsOptions): string[] {
  // --init: docker-init (ships with the engine) is PID 1 and reaps the
  // orphans a model's subprocesses leave behind; it forwards signals to us.
  const args = [
    "run",
    "--rm",
    "--init",
    "--name",
    options.name,
    "--shm-size",
    options.shmSize ?? "6g",
  ];
  if (options.gpus !== undefined) args.push("--gpus", options.gpus);
  args.push(
    "-p",
    publishSpec(options.host, options.port),
    "-v",
    `${options.projectDir}:/src`,
    "-w",
    "/src",
    "-e",
    "LOG_FORMAT=console",
  );
  for (const e of options.env ?? []) args.push("-e", e);
  if (options.addHostGateway) args.push("--add-host", "host.docker.internal:host-gateway");
  args.push(options.image, ...options.command);
  return args;
}

/** The in-container server command for serve. */
export function serveCommand(uploadUrl?: string, watch = false): string[] {
  const cmd = [
    "cog",
    "serve",
    "--no-docker",
    "--host",
    "0.0.0.0",
    "-p",
    "5000",
    "--await-explicit-shutdown",
    "true",
  ];
  if (uploadUrl) cmd.push("--upload-url", uploadUrl);
  if (watch) cmd.push("--watch");
  return cmd;
}
