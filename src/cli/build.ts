// `cog build`: a self-contained image (source copied into /src) that anyone can
// `docker run -p 5000:5000`. Also exports buildModelImage, which serve's Docker path reuses.
import { parseArgs } from "node:util";
import { basename, isAbsolute, join, resolve } from "node:path";
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
import { createOutput, type Output } from "./_output.ts";

/** Produces the model's OpenAPI schema (null when unknown: the label is then left out). */
export type SchemaProvider = (projectDir: string, config: CogConfig) => Promise<object | null>;

/** The world as `cog build` / `cog serve` (Docker path) touch it; every field has a default. */
export interface DockerCommandDeps {
  docker?: DockerClient;
  output?: Output;
  runtime?: CogRuntime;
  /** Where runtime directories are cached (default: $XDG_CACHE_HOME/cog-deno/runtime). */
  runtimeCache?: string;
  schemaProvider?: SchemaProvider;
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

/** `--flag` without a value means `--flag=true` (so `--flag=false` works with parseArgs strings). */
export function normalizeBoolFlags(args: string[], names: string[]): string[] {
  return args.map((a) => (names.includes(a) ? `${a}=true` : a));
}

/** Parses `true`/`false` flag text (undefined when not given). */
export function parseBoolFlag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (["true", "1", "yes"].includes(value)) return true;
  if (["false", "0", "no"].includes(value)) return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

/** Help text for `cog build`. */
export const BUILD_HELP = `Build an image from cog.yaml, with the model's source copied in.

Usage:
  cog build [flags]

The image runs the Cog HTTP API on port 5000: docker run -p 5000:5000 <image>

Flags:
  -t, --tag string                  Image name (default: image: in cog.yaml, else cog-<dir>)
  -f, --file string                 Config file, searched from the current directory upward (default "cog.yaml")
      --progress string             Build output: auto, tty, plain or quiet (default $BUILDKIT_PROGRESS or auto)
      --no-cache                    Do not use the build cache
      --secret stringArray          Build secret, e.g. id=pip,src=pip.conf (needs BuildKit)
      --openapi-schema string       Use this OpenAPI schema file for the run.cog.openapi_schema label
      --use-cog-base-image          Build FROM r8.im/cog-base when it is available locally (default: when present)
      --use-cuda-base-image string  "false" builds GPU models FROM python:<v>-slim (default "auto")
  -h, --help                        Show this help
`;

/** Runs `cog build`; returns the exit code (0 success, 1 failure, 2 bad flags). */
export async function runBuild(args: string[], deps: DockerCommandDeps = {}): Promise<number> {
  const output = deps.output ?? createOutput();
  let values;
  try {
    ({ values } = parseArgs({
      args: normalizeBoolFlags(args, ["--use-cog-base-image"]),
      options: {
        tag: { type: "string", short: "t" },
        file: { type: "string", short: "f" },
        progress: { type: "string" },
        "no-cache": { type: "boolean" },
        secret: { type: "string", multiple: true },
        "openapi-schema": { type: "string" },
        "use-cog-base-image": { type: "string" },
        "use-cuda-base-image": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    output.error(`${(err as Error).message}\n\n${BUILD_HELP}`);
    return 2;
  }
  if (values.help) {
    await Deno.stdout.write(new TextEncoder().encode(BUILD_HELP));
    return 0;
  }
  try {
    const cwd = deps.cwd ?? Deno.cwd();
    const loaded = await loadConfig({ cwd, file: values.file });
    for (const w of loaded.warnings) output.warn(w);
    const docker = deps.docker ?? createDockerClient();
    await docker.ensureDaemon();
    const tag = values.tag ?? loaded.config.image ?? defaultImageName(loaded.projectDir);
    output.info(`Building Docker image from environment in cog.yaml as ${tag}...`);
    output.blank();
    const schemaFile = values["openapi-schema"];
    await buildModelImage({
      loaded,
      tag,
      includeSource: true,
      progress: values.progress,
      useCogBaseImage: parseBoolFlag("--use-cog-base-image", values["use-cog-base-image"]),
      useCudaBaseImage: values["use-cuda-base-image"],
      secrets: values.secret,
      noCache: values["no-cache"],
      labels: async (plan) => {
        const schema = schemaFile
          ? JSON.parse(await Deno.readTextFile(resolve(cwd, schemaFile))) as object
          : await (deps.schemaProvider?.(loaded.projectDir, loaded.config) ??
            Promise.resolve(null));
        return imageLabels(loaded.config, { version: COG_VERSION, schema, cuda: plan.cuda });
      },
    }, { ...deps, docker, output });
    output.blank();
    output.success(`Image built as ${tag}`);
    return 0;
  } catch (err) {
    output.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}
