// Puts the pure pieces together: requirements -> CUDA -> base image -> Dockerfile.
import type { CogConfig } from "../config/mod.ts";
import { type BaseImage, chooseBaseImage } from "./base_image.ts";
import { generateDockerfile } from "./generate_dockerfile.ts";
import { parseRequirements, rewriteRequirements } from "./requirements.ts";
import { resolveCuda, type ResolvedCuda, torchCudaIndexTag } from "./resolve_cuda.ts";

/** Options for {@linkcode planBuild}. */
export interface PlanBuildOptions {
  /** The shared runtime image copied into the model (`cog-runtime:<version>-<key>`). */
  runtimeImage: string;
  /** Text of build.python_requirements (read by the caller), if the config has one. */
  requirementsText?: string;
  includeSource: boolean;
  context: "named" | "staging";
  buildkit: boolean;
  useCogBaseImage?: boolean;
  useCudaBaseImage?: string;
  cogBaseExists?: (image: string) => boolean;
  /** Config file name when it is not `cog.yaml`. */
  configFile?: string;
}

/** Everything needed to stage and run a build. */
export interface BuildPlan {
  dockerfile: string;
  /** Content of the staged requirements.txt, or null when nothing is pip-installed. */
  requirements: string | null;
  base: BaseImage;
  cuda?: ResolvedCuda;
  warnings: string[];
}

/** Plans a build. Throws Error with a user-facing message when the config cannot be built. */
export function planBuild(config: CogConfig, options: PlanBuildOptions): BuildPlan {
  const text = options.requirementsText ?? config.build.python_packages.join("\n");
  const reqs = parseRequirements(text);
  const warnings: string[] = [];
  const cuda = config.build.gpu ? resolveCuda(config, reqs) : undefined;
  if (cuda) warnings.push(...cuda.warnings);
  const base = chooseBaseImage(config, {
    useCogBaseImage: options.useCogBaseImage,
    useCudaBaseImage: options.useCudaBaseImage,
    cuda,
    cogBaseExists: options.cogBaseExists,
  });
  const torch = reqs.find((r) => r.name === "torch");
  const torchIndex = torch?.version
    ? (cuda ? torchCudaIndexTag(torch.version, cuda.cuda) : "cpu")
    : undefined;
  const rewritten = rewriteRequirements(reqs, { torchIndex });
  warnings.push(...rewritten.warnings);
  const requirements = rewritten.text === "" ? null : rewritten.text;
  const dockerfile = generateDockerfile(config, {
    base,
    runtimeImage: options.runtimeImage,
    cuda,
    requirements: requirements !== null,
    includeSource: options.includeSource,
    context: options.context,
    buildkit: options.buildkit,
    configFile: options.configFile,
  });
  return { dockerfile, requirements, base, cuda, warnings };
}
