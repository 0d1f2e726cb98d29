// `cog serve` through Docker: build the image (source not copied), run it with the project
// mounted at /src, wait for /health-check, print where it serves, and make sure that on
// Ctrl+C, SIGTERM or /shutdown no container is left running or holding the port.
import { basename } from "node:path";
import { defaultImageName, loadConfig } from "../config/mod.ts";
import {
  createDockerClient,
  DockerError,
  gpusFor,
  isMissingGpuDriver,
  lastLine,
  NotReadyError,
  runArgs,
  type RunningProcess,
  serveCommand,
  waitForReady,
} from "../docker/mod.ts";
import { buildModelImage, type DockerCommandDeps } from "./build.ts";
import { environmentOverlay, parseEnvEntries, QUIET_STARTUP_VAR } from "./_env.ts";
import { createOutput } from "./_output.ts";

/** Parsed `cog serve` flags for the Docker path. */
export interface ServeDockerOptions {
  /** Host port published to the container's 5000 (default 8393). */
  port?: number;
  /** Host interface to publish on (default 127.0.0.1). */
  host?: string;
  /** Config file name (default cog.yaml), searched upward from cwd. */
  file?: string;
  /** `--gpus` as given (undefined: not given; "" disables GPUs). */
  gpus?: string;
  uploadUrl?: string;
  progress?: string;
  useCogBaseImage?: boolean;
  useCudaBaseImage?: string;
  /** `-e NAME=VALUE` entries for the container. */
  env?: string[];
  /** How long to wait for /health-check to say READY (default $COG_SETUP_TIMEOUT s, else 300 s). */
  setupTimeoutMs?: number;
  /** Hot reload inside the container (--watch). */
  watch?: boolean;
}

/** Extra seams for serve: a stop signal for tests, a custom fetch, a port probe. */
export interface ServeDockerDeps extends DockerCommandDeps {
  /** Aborting stops the container, like Ctrl+C. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Whether host:port is free (default: try to listen on it). */
  isPortFree?: (host: string, port: number) => boolean;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
}

function defaultPortProbe(host: string, port: number): boolean {
  try {
    const l = Deno.listen({ hostname: host, port });
    l.close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return false;
    return true; // e.g. an address of a remote daemon: let docker decide
  }
}

/** The URL shown to the user and used for polling (0.0.0.0 and :: are reached via loopback). */
function serverUrls(host: string, port: number): { shown: string; poll: string } {
  const pollHost = host === "0.0.0.0"
    ? "127.0.0.1"
    : host === "::"
    ? "[::1]"
    : host.includes(":")
    ? `[${host}]`
    : host;
  const shown = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return { shown, poll: `http://${pollHost}:${port}` };
}

/** Explains a `docker run` failure in one line. */
function runFailure(code: number, stderr: string, host: string, port: number): string {
  if (/port is already allocated|address already in use/i.test(stderr)) {
    return `port ${port} is already in use on ${host}; stop whatever is using it or choose another port with -p/--port`;
  }
  if (/Cannot connect to the Docker daemon/i.test(stderr)) {
    return "cannot reach the Docker daemon; start Docker and try again";
  }
  const why = lastLine(stderr);
  return `container exited with status ${code}${why ? `: ${why}` : ""}`;
}

/**
 * Runs `cog serve` through Docker. Returns the exit code: 0 after Ctrl+C/SIGTERM//shutdown,
 * 1 on any failure (each with one clear message).
 */
export async function serveWithDocker(
  options: ServeDockerOptions,
  deps: ServeDockerDeps = {},
): Promise<number> {
  const output = deps.output ?? createOutput();
  const port = options.port ?? 8393;
  const host = options.host ?? "127.0.0.1";
  const env = deps.env ?? Deno.env;
  let name: string | undefined;
  let docker = deps.docker;
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    stop.abort();
  };
  const handle = deps.handleSignals ?? true;
  if (handle) {
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }
  deps.signal?.addEventListener("abort", onSignal, { once: true });

  try {
    const loaded = await loadConfig({ cwd: deps.cwd ?? Deno.cwd(), file: options.file });
    for (const w of loaded.warnings) output.warn(w);
    const { config, projectDir } = loaded;
    docker ??= createDockerClient();
    await docker.ensureDaemon();
    const { gpus, auto } = gpusFor(options.gpus, config.build.gpu);

    const image = defaultImageName(projectDir);
    output.info("Building Docker image from environment in cog.yaml...");
    output.blank();
    await buildModelImage({
      loaded,
      tag: image,
      includeSource: false,
      progress: options.progress,
      useCogBaseImage: options.useCogBaseImage,
      useCudaBaseImage: options.useCudaBaseImage,
    }, { ...deps, docker, output });
    if (stop.signal.aborted) return 0;

    if (port !== 0 && !(deps.isPortFree ?? defaultPortProbe)(host, port)) {
      throw new DockerError(
        `port ${port} is already in use on ${host}; stop whatever is using it or choose another port with -p/--port`,
      );
    }
    const command = serveCommand(options.uploadUrl, options.watch);
    // The container's own banner (its 0.0.0.0:5000) and cog.yaml warnings would repeat or
    // contradict what is printed here.
    const containerEnv = [`${QUIET_STARTUP_VAR}=1`, ...(options.env ?? [])];
    const rustLog = env.get("RUST_LOG");
    if (rustLog) containerEnv.push(`RUST_LOG=${rustLog}`);
    const slug = defaultImageName(projectDir).replace(/^cog-/, "") || basename(projectDir);
    const urls = serverUrls(host, port);
    // The server in the image takes COG_SETUP_TIMEOUT from its ENV (cog.yaml) or -e; the wait
    // here follows that value (else the shell's) so it does not give up before the server does.
    const overlay = environmentOverlay(config, parseEnvEntries(options.env ?? []));
    const setupTimeout = Number(overlay.COG_SETUP_TIMEOUT ?? env.get("COG_SETUP_TIMEOUT"));
    const setupTimeoutMs = options.setupTimeoutMs ??
      (setupTimeout > 0 ? setupTimeout * 1000 + 5_000 : 300_000);

    output.blank();
    output.info(
      `Running ${command.join(" ")} in Docker with the current directory mounted as a volume...`,
    );
    output.blank();

    let currentGpus = gpus;
    while (true) {
      name = `cog-serve-${slug}-${crypto.randomUUID().slice(0, 8)}`;
      const proc: RunningProcess = docker.run(runArgs({
        image,
        name,
        port,
        host,
        projectDir,
        gpus: currentGpus,
        env: containerEnv,
        addHostGateway: Boolean(options.uploadUrl),
        command,
      }));
      const containerName = name;
      const stopContainer = async () => {
        // The server exits on SIGINT (it ignores SIGTERM with --await-explicit-shutdown).
        await docker!.kill(containerName, "INT");
        const done = await Promise.race([
          proc.status.then(() => true),
          delay(10_000).then(() => false),
        ]);
        if (!done || signals > 1) await docker!.remove(containerName);
      };
      const onStop = () => void stopContainer();
      stop.signal.addEventListener("abort", onStop, { once: true });
      if (stop.signal.aborted) onStop();

      let ready = false;
      if (port !== 0) {
        try {
          await waitForReady({
            url: urls.poll,
            exited: proc.status,
            timeoutMs: setupTimeoutMs,
            signal: stop.signal,
            fetch: deps.fetch,
          });
          ready = true;
        } catch (err) {
          if (!(err instanceof NotReadyError)) throw err;
          if (!stop.signal.aborted) {
            const result = await Promise.race([proc.status, delay(500).then(() => null)]);
            if (result && auto && currentGpus && isMissingGpuDriver(result.stderrTail)) {
              stop.signal.removeEventListener("abort", onStop);
              output.warn("Missing device driver, re-trying without GPU");
              currentGpus = undefined;
              continue;
            }
            if (result) {
              output.error(runFailure(result.code, result.stderrTail, host, port));
              return 1;
            }
            output.error(err.message);
            await docker.kill(containerName, "INT");
            await Promise.race([proc.status, delay(5_000)]);
            await docker.remove(containerName);
            await proc.stop();
            return 1;
          }
        }
      }
      if (ready) {
        output.blank();
        output.success(`Serving at ${urls.shown}`);
        output.info("Press Ctrl+C to stop (or POST /shutdown).");
        output.blank();
      } else if (port === 0 && !stop.signal.aborted) {
        output.info(
          `Serving on a port chosen by Docker: see \`docker port ${containerName} 5000\``,
        );
      }
      const result = await proc.status;
      stop.signal.removeEventListener("abort", onStop);
      if (stop.signal.aborted) return 0;
      if (result.code === 0) return 0; // POST /shutdown
      if (auto && currentGpus && isMissingGpuDriver(result.stderrTail)) {
        output.warn("Missing device driver, re-trying without GPU");
        currentGpus = undefined;
        continue;
      }
      output.error(runFailure(result.code, result.stderrTail, host, port));
      return 1;
    }
  } catch (err) {
    output.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    if (handle) {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
    deps.signal?.removeEventListener("abort", onSignal);
    // Whatever happened, leave no container behind.
    if (name && docker && await docker.containerExists(name).catch(() => false)) {
      await docker.remove(name).catch(() => {});
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    Deno.unrefTimer(t);
  });
}
