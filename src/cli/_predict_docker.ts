// `cog predict` with Docker: on a given image (schema from its label), or on
// the project's image built like `cog serve` builds it (source mounted).
// The container is always removed, whatever happens (Cog leaks it on
// startup failures; we do not).

import { basename } from "node:path";
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
import { CliError } from "./_errors.ts";
import { createOutput } from "./_output.ts";
import { projectSchema } from "./_schema.ts";
import { buildModelImage } from "./build.ts";
import { type PredictFlags, requestAndHandle, waitUntilReady } from "./predict.ts";

/** The flags `cog predict` parsed (see predict.ts) that the Docker path reads. */
export type DockerPredictFlags = Omit<PredictFlags, "noDocker">;

/** Functions shared with the no-Docker path. */
export interface PredictHelpers {
  prepareInputs(
    flags: { inputs: string[]; json?: string },
    doc: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
}

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

/** Runs one prediction in a container; resolves with the exit code. */
export async function predictWithDocker(
  flags: DockerPredictFlags,
  helpers: PredictHelpers,
): Promise<number> {
  const client = createDockerClient();
  await client.ensureDaemon();
  let image: string;
  let doc: Record<string, unknown> | null = null;
  const runExtra: string[] = [];
  let command: string[] = [];
  let gpus = flags.gpus;
  let input: Record<string, unknown> | null = null;

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
  } else {
    const loaded = await loadConfig({ cwd: Deno.cwd(), file: flags.file });
    for (const warning of loaded.warnings) console.error(warning);
    doc = await projectSchema(loaded.projectDir, loaded.config) as Record<string, unknown> | null;
    // Inputs are checked before anything is built or started.
    if (doc) input = await helpers.prepareInputs(flags, doc);
    image = defaultImageName(loaded.projectDir);
    console.error("Building Docker image from environment in cog.yaml...\n");
    await buildModelImage({ loaded, tag: image, includeSource: false }, {
      docker: client,
      output: createOutput(),
    });
    runExtra.push("-v", `${loaded.projectDir}:/src`, "-w", "/src");
    command = serveCommand().filter((a, i, all) =>
      a !== "--await-explicit-shutdown" && all[i - 1] !== "--await-explicit-shutdown"
    );
    if (gpus === undefined && loaded.config.build.gpu) gpus = "all";
  }
  if (flags.image && doc) input = await helpers.prepareInputs(flags, doc);

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
  for (const e of flags.env) args.push("-e", e);
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
      input = await helpers.prepareInputs(flags, doc!);
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
