// Docker driving: the only code that runs `docker` (through one subprocess wrapper),
// pure argument builders for build and run, build-context staging, the shared runtime
// image, readiness polling.
//
// @example
// ```ts
// import { createDockerClient } from "./src/docker/mod.ts";
// const docker = createDockerClient();
// await docker.ensureDaemon();
// ```

export {
  type ExecOptions,
  type ExecResult,
  type OutputMode,
  type RunningProcess,
  type Spawn,
  spawnProcess,
} from "../process/mod.ts";
export { DockerError, type DockerErrorOptions, lastLine } from "./docker_error.ts";
export {
  type Builder,
  createDockerClient,
  type DockerClient,
  type DockerClientOptions,
} from "./docker_client.ts";
export {
  buildArgs,
  type BuildArgsOptions,
  type BuilderKind,
  type DockerCommand,
  type ProgressMode,
  progressMode,
} from "./build_args.ts";
export { publishSpec, runArgs, type RunArgsOptions, serveCommand } from "./run_args.ts";
export { gpusFor, isMissingGpuDriver, parseGpus } from "./gpus.ts";
export { NotReadyError, waitForReady, type WaitForReadyOptions } from "./readiness.ts";
export {
  defaultRuntimeCache,
  ensureRuntimeDir,
  ensureRuntimeImage,
  PINNED_DENO_VERSION,
  RUNTIME_IMAGE_REPOSITORY,
  type RuntimeImageOptions,
  runtimeImageTag,
} from "./runtime_image.ts";
export {
  type CogRuntime,
  detectRuntime,
  stageBuildContext,
  type StagedContext,
  type StageOptions,
} from "./stage_build_context.ts";
