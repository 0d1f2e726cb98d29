// DockerClient: the only code that runs `docker`. Every failure becomes a DockerError with
// one clear message (docker missing, daemon down, build failed, ...).
import {
  type ExecOptions,
  type ExecResult,
  type RunningProcess,
  type Spawn,
  spawnProcess,
} from "../process/mod.ts";
import { DockerError, lastLine } from "./docker_error.ts";
import type { BuilderKind, DockerCommand } from "./build_args.ts";

/** The builder found, with a one-line notice when it is a fallback. */
export interface Builder {
  kind: BuilderKind;
  notice?: string;
}

/** What cog needs from Docker; tests pass a fake. */
export interface DockerClient {
  /** Checks that docker exists and its daemon answers; throws DockerError otherwise. */
  ensureDaemon(): Promise<void>;
  /** Detects buildx, else BuildKit in the client, else the classic builder. */
  detectBuilder(): Promise<Builder>;
  /** Runs a build, streaming its output to stderr; throws DockerError on failure. */
  build(command: DockerCommand, options?: { cwd?: string }): Promise<void>;
  imageExists(image: string): Promise<boolean>;
  /** Starts `docker run` attached: container stdout/stderr stream live. */
  run(args: string[]): RunningProcess;
  /** Sends a signal to a container (ignores "no such container"). */
  kill(name: string, signal?: string): Promise<void>;
  /** `docker rm -f` (ignores "no such container"). */
  remove(name: string): Promise<void>;
  /** Whether a container with this name exists (running or not). */
  containerExists(name: string): Promise<boolean>;
  /** `docker image tag source target`; throws DockerError on failure. */
  tagImage(source: string, target: string): Promise<void>;
  /** Removes an image reference (`docker image rm`; ignores "no such image"). */
  removeImage(image: string): Promise<void>;
  /**
   * Runs a docker command to completion with its stdout captured (and the stderr tail), e.g.
   * a `docker run --rm` that prints a result; aborting stops it.
   */
  capture(args: string[], options?: { signal?: AbortSignal }): Promise<ExecResult>;
}

/** Options for {@linkcode createDockerClient}. */
export interface DockerClientOptions {
  /** docker executable (default `docker`). */
  command?: string;
  /** Process seam (default: real subprocesses). */
  spawn?: Spawn;
}

const INSTALL_HINT =
  "Install Docker (https://docs.docker.com/get-docker/) or run with --no-docker.";

/** Creates the subprocess-backed client. */
export function createDockerClient(options: DockerClientOptions = {}): DockerClient {
  const docker = options.command ?? "docker";
  const spawn = options.spawn ?? spawnProcess;

  async function exec(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    try {
      return await spawn(docker, args, opts).status;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new DockerError(`docker was not found on PATH. ${INSTALL_HINT}`, { cause: err });
      }
      throw err;
    }
  }

  return {
    async ensureDaemon() {
      const r = await exec(["version", "--format", "{{.Server.Version}}"]);
      if (r.code !== 0 || r.stdout.trim() === "") {
        const why = lastLine(r.stderrTail) || "no answer";
        throw new DockerError(
          `cannot reach the Docker daemon (${why}). Start Docker (e.g. \`sudo systemctl start docker\` or \`dockerd\`) and try again.`,
          { exitCode: r.code, stderrTail: r.stderrTail },
        );
      }
    },

    async detectBuilder() {
      const bx = await exec(["buildx", "version"]);
      if (bx.code === 0) return { kind: "buildx" };
      const v = await exec(["version", "--format", "{{.Client.Version}}"]);
      const major = Number(/^(\d+)/.exec(v.stdout.trim())?.[1] ?? "0");
      // Clients before 23 carry BuildKit themselves; later ones delegate it to buildx.
      if (major > 0 && major < 23) {
        return {
          kind: "buildkit",
          notice:
            "docker buildx is not installed; building with `docker build` and its built-in BuildKit instead.",
        };
      }
      return {
        kind: "classic",
        notice:
          "docker buildx is not installed; building with the classic `docker build` (no cache mounts). Install docker-buildx for faster builds.",
      };
    },

    async build(command, opts = {}) {
      const r = await exec(command.args, {
        cwd: opts.cwd,
        env: command.env,
        // Build output is progress, not a result: it goes to stderr (cli-and-build.md 4.5).
        stdout: "tee-stderr",
        stderr: "tee",
      });
      if (r.code !== 0) {
        const why = lastLine(r.stderrTail) || lastLine(r.stdout);
        throw new DockerError(`docker build failed (exit code ${r.code})${why ? `: ${why}` : ""}`, {
          exitCode: r.code,
          stderrTail: r.stderrTail,
        });
      }
    },

    async imageExists(image) {
      const r = await exec(["image", "inspect", "--format", "{{.Id}}", image]);
      return r.code === 0;
    },

    run(args) {
      try {
        return spawn(docker, args, { stdout: "inherit", stderr: "tee", killGraceMs: 10_000 });
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          throw new DockerError(`docker was not found on PATH. ${INSTALL_HINT}`, { cause: err });
        }
        throw err;
      }
    },

    async kill(name, signal = "KILL") {
      await exec(["kill", "--signal", signal, name]);
    },

    async remove(name) {
      await exec(["rm", "-f", name]);
    },

    async containerExists(name) {
      const r = await exec(["ps", "-a", "-q", "--filter", `name=^/${name}$`]);
      return r.code === 0 && r.stdout.trim() !== "";
    },

    async tagImage(source, target) {
      const r = await exec(["image", "tag", source, target]);
      if (r.code !== 0) {
        throw new DockerError(
          `docker image tag ${source} ${target} failed: ${lastLine(r.stderrTail) || "no answer"}`,
          { exitCode: r.code, stderrTail: r.stderrTail },
        );
      }
    },

    async removeImage(image) {
      await exec(["image", "rm", image]);
    },

    capture(args, opts = {}) {
      return exec(args, { stdout: "capture", stderr: "capture", signal: opts.signal });
    },
  };
}
