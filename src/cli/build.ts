// `cog build`: a self-contained image (source copied into /src) that anyone can
// `docker run -p 5000:5000`. Also exports buildModelImage, which serve's Docker path reuses.
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import {
  type CogConfig,
  ConfigError,
  defaultImageName,
  loadConfig,
  type LoadedConfig,
} from "../config/mod.ts";
import { type BuildPlan, imageLabels, planBuild } from "../build/mod.ts";
import {
  buildArgs,
  type CogRuntime,
  createDockerClient,
  detectRuntime,
  type DockerClient,
  DockerError,
  ensureRuntimeImage,
  progressMode,
  runtimeImageTag,
  stageBuildContext,
} from "../docker/mod.ts";
import { environmentOverlay } from "./_env.ts";
import { CliError } from "./_errors.ts";
import { commandHelp, type CommandSpec, parseFlags } from "./_flags.ts";
import { createOutput, type Output } from "./_output.ts";
import { ModelSchemaError, projectOpenApiSchema } from "./_schema.ts";

/**
 * The model's OpenAPI schema from the host's python3, by the worker's signature introspection;
 * throws ModelSchemaError (`invalid`: the build must fail; `unavailable`: only the image can tell).
 */
export type SchemaCheck = (projectDir: string, config: CogConfig) => Promise<object>;

/** The world as `cog build` / `cog serve` (Docker path) touch it; every field has a default. */
export interface DockerCommandDeps {
  docker?: DockerClient;
  output?: Output;
  runtime?: CogRuntime;
  /** `cog build`'s schema check on the host (default: the real introspection). */
  schemaCheck?: SchemaCheck;
  /** Where runtime directories are cached (default: $XDG_CACHE_HOME/cog-deno/runtime). */
  runtimeCache?: string;
  cwd?: string;
  env?: { get(name: string): string | undefined };
}

/** Options for {@linkcode buildModelImage}. */
export interface BuildModelImageOptions {
  loaded: LoadedConfig;
  tag: string;
  /** Copy the source into the image (`cog build`); serve mounts it instead. */
  includeSource: boolean;
  progress?: string;
  useCogBaseImage?: boolean;
  useCudaBaseImage?: string;
  secrets?: string[];
  noCache?: boolean;
  /** Adds labels once the plan (with resolved CUDA) is known. */
  labels?: (plan: BuildPlan) => Promise<Record<string, string>> | Record<string, string>;
}

/** cog's version, written into image labels. */
export const COG_VERSION: string = denoJson.version;

/**
 * Plans, stages and builds the image. Throws ConfigError / DockerError / Error with
 * user-facing messages.
 */
export async function buildModelImage(
  options: BuildModelImageOptions,
  deps: Required<Pick<DockerCommandDeps, "docker" | "output">> & DockerCommandDeps,
): Promise<BuildPlan> {
  const { docker, output } = deps;
  const { config, projectDir, configPath } = options.loaded;
  const builder = await docker.detectBuilder();
  if (builder.notice) output.info(builder.notice);
  const named = builder.kind === "buildx" && options.includeSource;

  let requirementsText: string | undefined;
  const reqFile = config.build.python_requirements;
  if (reqFile) {
    requirementsText = await Deno.readTextFile(
      isAbsolute(reqFile) ? reqFile : join(projectDir, reqFile),
    );
  }
  const runtime = deps.runtime ?? detectRuntime();
  const runtimeImage = await runtimeImageTag(runtime);
  let plan: BuildPlan;
  try {
    plan = planBuild(config, {
      runtimeImage,
      requirementsText,
      includeSource: options.includeSource,
      context: named ? "named" : "staging",
      buildkit: builder.kind !== "classic",
      useCogBaseImage: options.useCogBaseImage,
      useCudaBaseImage: options.useCudaBaseImage,
      cogBaseExists: undefined,
      configFile: basename(configPath),
    });
  } catch (err) {
    if (err instanceof Error && !(err instanceof ConfigError)) {
      throw new ConfigError({ file: basename(configPath), message: err.message });
    }
    throw err;
  }
  // cog-base images can only be used when already present (no registry is assumed).
  if (options.useCogBaseImage !== false) {
    const cogBase = planBuild(config, {
      runtimeImage,
      requirementsText,
      includeSource: options.includeSource,
      context: named ? "named" : "staging",
      buildkit: builder.kind !== "classic",
      useCogBaseImage: true,
      useCudaBaseImage: options.useCudaBaseImage,
      cogBaseExists: () => true,
      configFile: basename(configPath),
    });
    if (await docker.imageExists(cogBase.base.image)) plan = cogBase;
    else if (options.useCogBaseImage === true) {
      throw new DockerError(
        `cog-base image ${cogBase.base.image} is not available locally and no registry is reachable; load it first or drop --use-cog-base-image`,
      );
    }
  }
  for (const w of plan.warnings) output.warn(w);

  // The shared runtime image: built once per cog version, then found in the engine.
  await ensureRuntimeImage(runtimeImage, {
    runtime,
    docker,
    builder: builder.kind,
    progress: progressMode(options.progress, deps.env ?? Deno.env),
    cacheRoot: deps.runtimeCache,
    env: deps.env,
    log: (l) => output.info(l),
  });
  const staged = await stageBuildContext({
    projectDir,
    dockerfile: plan.dockerfile,
    requirements: plan.requirements,
    copySource: options.includeSource && !named,
    projectIgnore: named,
  });
  const labels = options.labels ? await options.labels(plan) : {};
  const command = buildArgs({
    builder: builder.kind,
    dockerfile: staged.dockerfile,
    tag: options.tag,
    context: named ? projectDir : staged.dir,
    namedContexts: named ? { cog_build: staged.dir } : undefined,
    progress: progressMode(options.progress, deps.env ?? Deno.env),
    labels,
    secrets: options.secrets?.map((s) => resolveSecret(s, projectDir)),
    noCache: options.noCache,
  });
  await docker.build(command, { cwd: projectDir });
  return plan;
}

/** Relative `src=` paths in `--secret` resolve against the project dir. */
function resolveSecret(spec: string, projectDir: string): string {
  return spec.split(",").map((part) => {
    const [k, v] = part.split("=", 2);
    return (k === "src" || k === "source") && v && !isAbsolute(v)
      ? `${k}=${resolve(projectDir, v)}`
      : part;
  }).join(",");
}

/** `cog build`'s flags and help. */
export const BUILD_COMMAND: CommandSpec = {
  use: "cog build [flags]",
  long: `Build an image from cog.yaml, with the model's source copied in.

The image runs the Cog HTTP API on port 5000: docker run -p 5000:5000 <image>.
The predictor's schema is checked first (on this machine's python3, or in the
built image when only the image has the model's packages): an invalid one
fails the build and leaves no image tagged. The image carries the labels
run.cog.version, run.cog.config and run.cog.openapi_schema.`,
  examples: `  # Build the model in the current directory as cog-<dir> (or cog.yaml's image:)
  cog build

  # Build and tag it, with plain build output
  cog build -t my-model:latest --progress plain`,
  flags: [
    "tag",
    "file",
    "progress",
    "no-cache",
    "secret",
    "openapi-schema",
    "use-cog-base-image",
    "use-cuda-base-image",
    "skip-schema-validation",
  ],
  maxArgs: 0,
};

/** Help text for `cog build`. */
export const BUILD_HELP: string = commandHelp(BUILD_COMMAND);

/** How long the schema check in the built image may take (imports of big packages included). */
const IMAGE_CHECK_TIMEOUT_MS = 180_000;

/**
 * Runs `cog openapi-schema` (the same introspection the server runs at setup) in the built
 * image; resolves with the document, or throws ModelSchemaError with the reason.
 */
async function schemaInImage(
  docker: DockerClient,
  image: string,
  configFile: string,
  signal: AbortSignal,
): Promise<object> {
  const name = `cog-schema-check-${crypto.randomUUID().slice(0, 8)}`;
  const timeout = AbortSignal.timeout(IMAGE_CHECK_TIMEOUT_MS);
  try {
    const r = await docker.capture(
      ["run", "--rm", "--name", name, image, "cog", "openapi-schema", "-f", configFile],
      { signal: AbortSignal.any([signal, timeout]) },
    );
    if (signal.aborted) throw new ModelSchemaError("unavailable", "interrupted");
    if (timeout.aborted) {
      throw new ModelSchemaError(
        "unavailable",
        `Failed to load model schema: the check in the image did not finish within ${
          IMAGE_CHECK_TIMEOUT_MS / 1000
        } s`,
      );
    }
    if (r.code === 0) {
      try {
        return JSON.parse(r.stdout) as object;
      } catch {
        // fall through: not a schema
      }
    }
    const tail = r.stderrTail.trim();
    const invalid = tail.split("\n").find((l) => l.startsWith("Model schema is invalid: "));
    if (invalid) throw new ModelSchemaError("invalid", invalid);
    throw new ModelSchemaError(
      "invalid",
      tail.startsWith("Failed to load model schema")
        ? tail
        : `Failed to load model schema in the image (exit code ${r.code})${
          tail ? `:\n${tail.split("\n").slice(-30).join("\n")}` : ""
        }`,
    );
  } finally {
    if (await docker.containerExists(name).catch(() => false)) {
      await docker.remove(name).catch(() => {});
    }
  }
}

/** Runs `cog build`; returns the exit code (0 success, 1 failure). Bad flags throw CliError. */
export async function runBuild(args: string[], deps: DockerCommandDeps = {}): Promise<number> {
  const parsed = parseFlags(BUILD_COMMAND, args);
  if (parsed.bool("help")) {
    await Deno.stdout.write(new TextEncoder().encode(BUILD_HELP));
    return 0;
  }
  const output = deps.output ?? createOutput();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  let listening = false;
  let tmpTag: string | null = null;
  let docker: DockerClient | undefined;
  try {
    const cwd = deps.cwd ?? Deno.cwd();
    const loaded = await loadConfig({ cwd, file: parsed.string("file") });
    for (const w of loaded.warnings) output.warn(w);
    const { config, projectDir } = loaded;

    // The schema check: what the server would refuse at setup fails the build here, before an
    // image is tagged. On the host when it can load the predictor, else in the built image.
    const schemaFile = parsed.string("openapi-schema");
    const check = !schemaFile && !parsed.bool("skip-schema-validation");
    let schema: object | null = null;
    let checkInImage = false;
    if (schemaFile) {
      schema = JSON.parse(await Deno.readTextFile(resolve(cwd, schemaFile))) as object;
    } else {
      try {
        schema = await (deps.schemaCheck ?? ((dir, c) =>
          projectOpenApiSchema(dir, c, { env: environmentOverlay(c), timeoutMs: 60_000 })))(
            projectDir,
            config,
          );
      } catch (err) {
        if (!(err instanceof ModelSchemaError)) throw err;
        if (err.kind === "invalid" && check) {
          output.error(err.message);
          return 1;
        }
        checkInImage = check && err.kind === "unavailable";
      }
    }

    docker = deps.docker ?? createDockerClient();
    await docker.ensureDaemon();
    const tag = parsed.string("tag") ?? config.image ?? defaultImageName(projectDir);
    output.info(`Building Docker image from environment in cog.yaml as ${tag}...`);
    output.blank();
    // Checked in the image: built under a temporary name, tagged only once the check passed.
    if (checkInImage) {
      tmpTag = `cog-tmp:${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
      listening = true;
    }
    await buildModelImage({
      loaded,
      tag: tmpTag ?? tag,
      includeSource: true,
      progress: parsed.string("progress"),
      useCogBaseImage: parsed.bool("use-cog-base-image"),
      useCudaBaseImage: parsed.string("use-cuda-base-image"),
      secrets: parsed.strings("secret"),
      noCache: parsed.bool("no-cache"),
      labels: (plan) => imageLabels(config, { version: COG_VERSION, schema, cuda: plan.cuda }),
    }, { ...deps, docker, output });
    if (tmpTag) {
      if (stop.signal.aborted) return 130;
      output.blank();
      output.info("Checking the model's schema in the image...");
      try {
        await schemaInImage(docker, tmpTag, relative(projectDir, loaded.configPath), stop.signal);
      } catch (err) {
        if (stop.signal.aborted) return 130;
        if (err instanceof ModelSchemaError) {
          output.error(err.message);
          return 1;
        }
        throw err;
      }
      await docker.tagImage(tmpTag, tag);
    }
    output.blank();
    output.success(`Image built as ${tag}`);
    return 0;
  } catch (err) {
    if (err instanceof CliError) throw err;
    output.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    if (tmpTag && docker) await docker.removeImage(tmpTag).catch(() => {});
    if (listening) {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
  }
}
