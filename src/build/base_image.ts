// Picks the FROM image: cog-base (if present), nvidia/cuda for GPU, else python:<v>-slim. Pure:
// whether a cog-base image exists is asked through an injected predicate.
import type { CogConfig } from "../config/mod.ts";
import { cudaBaseImage, type ResolvedCuda } from "./resolve_cuda.ts";

/** What the image starts FROM, and which Dockerfile layout that implies. */
export interface BaseImage {
  image: string;
  kind: "cog-base" | "cuda" | "python";
}

/** Options for {@linkcode chooseBaseImage}. */
export interface ChooseBaseImageOptions {
  /** `--use-cog-base-image`: undefined tries it and falls back; true requires it; false skips it. */
  useCogBaseImage?: boolean;
  /** `--use-cuda-base-image`: "false" gives GPU models python:<v>-slim; anything else nvidia/cuda. */
  useCudaBaseImage?: string;
  /** Resolved CUDA stack (GPU configs only). */
  cuda?: ResolvedCuda;
  /** Whether a cog-base image is available (no registry is assumed reachable). */
  cogBaseExists?: (image: string) => boolean;
}

/** `X.Y` of a version (`3.11.4` -> `3.11`). */
export function majorMinor(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

/**
 * The cog-base image for a stack: `r8.im/cog-base:[cuda<X.Y>-]python<X.Y>[-torch<v>]`.
 *
 * @example
 * ```ts
 * cogBaseImageName({ python: "3.12", cuda: "12.8", torch: "2.7.1" });
 * // "r8.im/cog-base:cuda12.8-python3.12-torch2.7.1"
 * ```
 */
export function cogBaseImageName(stack: { python: string; cuda?: string; torch?: string }): string {
  let tag = stack.cuda ? `cuda${majorMinor(stack.cuda)}-` : "";
  tag += `python${majorMinor(stack.python)}`;
  if (stack.torch) tag += `-torch${stack.torch.split("+")[0]}`;
  return `r8.im/cog-base:${tag}`;
}

/** Chooses the base image; throws Error when cog-base was required but is missing. */
export function chooseBaseImage(
  config: CogConfig,
  options: ChooseBaseImageOptions = {},
): BaseImage {
  const gpu = config.build.gpu;
  if (options.useCogBaseImage !== false) {
    const name = cogBaseImageName({
      python: config.build.python_version,
      cuda: gpu ? options.cuda?.cuda : undefined,
      torch: options.cuda?.torch,
    });
    if (options.cogBaseExists?.(name)) return { image: name, kind: "cog-base" };
    if (options.useCogBaseImage === true) {
      throw new Error(
        `Failed to get cog base image name: ${name} is not available locally and no registry is reachable from this cog. ` +
          `Pull or load it first, or leave out --use-cog-base-image.`,
      );
    }
  }
  if (gpu && options.useCudaBaseImage !== "false") {
    if (!options.cuda) throw new Error("a GPU build needs a resolved CUDA version");
    return { image: cudaBaseImage(options.cuda.cuda, options.cuda.cudnn), kind: "cuda" };
  }
  return { image: `python:${config.build.python_version}-slim`, kind: "python" };
}
