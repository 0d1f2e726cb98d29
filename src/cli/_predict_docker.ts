// `cog run` / `cog train` with Docker: on a given image (schema from its label), or on
// the project's image built like `cog serve` builds it (source mounted).
// The container is always removed, whatever happens (Cog leaks it on
// startup failures; we do not).

import { basename } from "node:path";
import { SERVER_COMMAND } from "../build/mod.ts";
import { loadConfig } from "../config/mod.ts";
import { defaultImageName } from "../config/mod.ts";
import { createDockerClient, DockerError, serveCommand } from "../docker/mod.ts";
import {
  execProcess,
  type ExecResult,
  readLines,
  spawnChild,
  spawnProcess,
} from "../process/mod.ts";
import { environmentOverlay, parseEnvEntries, QUIET_STARTUP_VAR } from "./_env.ts";
import { CliError } from "./_errors.ts";
import { createOutput } from "./_output.ts";
import {
  prepareInputs,
  requestAndHandle,
  type RunModelFlags,
  waitUntilReady,
} from "./_predict_request.ts";
import { ModelSchemaError, NO_PREDICTOR_MESSAGE, projectOpenApiSchema } from "./_schema.ts";
import { buildModelImage } from "./build.ts";

function docker(args: string[]): Promise<ExecResult> {
  return execProcess(spawnProcess, "docker", args);
}

async function imageLabels(image: string): Promise<Record<string, string> | null> {
  const r = await docker(["image", "inspect", "--format", "{{json .Config.Labels}}", image]);
  if (r.code !== 0) return null;
  try {
    return JSON.parse(r.stdout) ?? {};
  } catch {
    return {};
  }
}

async function hostPort(name: string, deadline: number, runExited: () => boolean): Promise<number> {
  while (Date.now() < deadline) {
    const r = await docker(["port", name, "5000/tcp"]);
    const match = /:(\d+)\s*$/m.exec(r.stdout);
    if (r.code === 0 && match) return Number(match[1]);
    // `docker run` may not have created the container yet; it is gone only once that process ended.
    const state = await docker(["inspect", "--format", "{{.State.Status}}", name]);
    if (runExited() || /exited|dead/.test(state.stdout)) {
      throw new CliError("Container exited unexpectedly");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new CliError("Failed to determine container port: timed out");
}

/** The project's schema from the host, or null when only the image can tell. */
async function hostSchema(
  projectDir: string,
  config: Parameters<typeof projectOpenApiSchema>[1],
  env: Record<string, string>,
): Promise<Record<string, unknown> | null> {
  try {
    return await projectOpenApiSchema(projectDir, config, { env, timeoutMs: 30_000 });
  } catch (error) {
    if (error instanceof ModelSchemaError && error.kind === "invalid") {
      throw new CliError(error.message);
    }
    return null; // e.g. it imports packages only the image has: validated once it runs
  }
}

/** Runs one prediction (or training) in a container; resolves with the exit code. */
export async function runModelWithDocker(flags: RunModelFlags): Promise<number> {
  const train = flags.mode === "train";
  const client = createDockerClient();
  await client.ensureDaemon();
  let image: string;
  let doc: Record<string, unknown> | null = null;
  const runExtra: string[] = [];
  let command: string[] = [];
  let gpus = flags.gpus;
  let input: Record<string, unknown> | null = null;
  const userEnv = parseEnvEntries(flags.env);

  if (flags.image) {
    image = flags.image;
    const labels = await imageLabels(image);
    if (labels === null) throw new CliError(`image ${image}: image not found`);
    if (!labels["run.cog.config"]) throw new CliError(`image ${image}: image is not a Cog model`);
    try {
      doc = labels["run.cog.openapi_schema"] ? JSON.parse(labels["run.cog.openapi_schema"]) : null;
    } catch {
      doc = null;
    }
    try {
      if (gpus === undefined && JSON.parse(labels["run.cog.config"]).build?.gpu) gpus = "all";
    } catch {
      // no GPU default
    }
    // The image's own command serves predictions; trainings need the train mode.
    if (train) command = [...SERVER_COMMAND, "--x-mode", "train"];
    if (doc) input = await prepareInputs(flags, doc);
  } else {
    const loaded = await loadConfig({ cwd: Deno.cwd(), file: flags.file });
    for (const warning of loaded.warnings) console.error(warning);
    if (!(train ? loaded.config.train : loaded.config.run)) {
      throw new CliError(
        train && loaded.config.run
          ? 'no train reference found in cog.yaml: add e.g. train: "train.py:train"'
          : NO_PREDICTOR_MESSAGE,
      );
    }
    doc = await hostSchema(
      loaded.projectDir,
      loaded.config,
      environmentOverlay(loaded.config, userEnv),
    );
    // Inputs are checked before anything is built or started.
    if (doc) input = await prepareInputs(flags, doc);
    image = defaultImageName(loaded.projectDir);
    console.error("Building Docker image from environment in cog.yaml...\n");
    await buildModelImage({
      loaded,
      tag: image,
      includeSource: false,
      progress: flags.progress,
      useCogBaseImage: flags.useCogBaseImage,
      useCudaBaseImage: flags.useCudaBaseImage,
    }, {
      docker: client,
      output: createOutput(),
    });
    runExtra.push("-v", `${loaded.projectDir}:/src`, "-w", "/src");
    command = serveCommand().filter((a, i, all) =>
      a !== "--await-explicit-shutdown" && all[i - 1] !== "--await-explicit-shutdown"
    );
    if (train) command.push("--x-mode", "train");
    if (gpus === undefined && loaded.config.build.gpu) gpus = "all";
  }

  console.error("\nStarting Docker image and running setup()...");
  const name = `cog-predict-${basename(image).replace(/[^a-zA-Z0-9_.-]/g, "-")}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  const args = [
    "run",
    "--rm",
    "--init",
    "--name",
    name,
    "--shm-size",
    "6g",
    "-p",
    "127.0.0.1:0:5000",
  ];
  if (gpus) args.push("--gpus", gpus);
  // The container's own banner and cog.yaml warnings would repeat what this command shows.
  args.push("-e", `${QUIET_STARTUP_VAR}=1`);
  for (const e of flags.env) args.push("-e", e);
  const rustLog = Deno.env.get("RUST_LOG");
  if (rustLog && !train) args.push("-e", `RUST_LOG=${rustLog}`);
  args.push(
    "-e",
    "LOG_FORMAT=console",
    "-e",
    "COG_LOG_LEVEL=warning",
    ...runExtra,
    image,
    ...command,
  );
  const child = spawnChild("docker", args, { stdout: "piped", stderr: "piped" });
  const encoder = new TextEncoder();
  const forward = async (stream: ReadableStream<Uint8Array>) => {
    for await (const line of readLines(stream)) {
      await Deno.stderr.write(encoder.encode(line + "\n"));
    }
  };
  const logs = Promise.all([forward(child.stdout), forward(child.stderr)]).catch(() => {});
  try {
    const port = await hostPort(name, Date.now() + 60_000, () => child.done);
    const url = `http://127.0.0.1:${port}`;
    await waitUntilReady(url, flags.setupTimeout);
    if (!doc) {
      const response = await fetch(`${url}/openapi.json`);
      if (!response.ok) throw new CliError(`Failed to get OpenAPI schema: ${response.status}`);
      doc = await response.json();
      input = await prepareInputs(flags, doc!);
    }
    return await requestAndHandle(url, input!, doc!, flags);
  } catch (error) {
    if (error instanceof DockerError) throw new CliError(error.message);
    throw error;
  } finally {
    await docker(["kill", "--signal", "INT", name]);
    const stopped = await Promise.race([
      child.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    if (!stopped) await docker(["rm", "-f", name]);
    await child.exited;
    await logs;
  }
}
