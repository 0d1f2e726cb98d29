// Pure build planning: config -> base image, requirements, Dockerfile text, labels.
// No I/O here; src/docker stages files and runs the build.
//
// @example
// ```ts
// import { planBuild } from "./src/build/mod.ts";
// const plan = planBuild(config, { includeSource: false, context: "staging", buildkit: true });
// plan.dockerfile; // "FROM python:3.11-slim\n..."
// ```

export {
  type BaseImage,
  chooseBaseImage,
  type ChooseBaseImageOptions,
  cogBaseImageName,
  majorMinor,
} from "./base_image.ts";
export {
  COG_BASE_PACKAGES,
  type DockerfileOptions,
  envValue,
  generateDockerfile,
  RUNTIME_DIR,
  RUNTIME_IMAGE_DOCKERFILE,
  runtimeCopyLine,
  SERVER_COMMAND,
} from "./generate_dockerfile.ts";
export { imageLabels, type ImageLabelsOptions } from "./image_labels.ts";
export {
  findRequirement,
  parseRequirements,
  type Requirement,
  rewriteRequirements,
  type RewriteRequirementsOptions,
  type RewrittenRequirements,
} from "./requirements.ts";
export {
  cudaBaseImage,
  DEFAULT_CUDA,
  resolveCuda,
  type ResolvedCuda,
  torchCudaIndexTag,
} from "./resolve_cuda.ts";
export { type BuildPlan, planBuild, type PlanBuildOptions } from "./plan_build.ts";
