// GPU completion: which CUDA and cuDNN a config gets (from torch / tensorflow pins or
// defaults) and which nvidia/cuda image provides them. Pure.
import type { CogConfig } from "../config/mod.ts";
import { CUDA_IMAGES, TF_MATRIX, TORCH_MATRIX } from "./_tables.ts";
import { findRequirement, type Requirement } from "./requirements.ts";

/** The resolved GPU stack. */
export interface ResolvedCuda {
  cuda: string;
  cudnn: string;
  /** Torch version pinned in the requirements, if any. */
  torch?: string;
  warnings: string[];
}

/** CUDA used when neither torch nor tensorflow says otherwise. */
export const DEFAULT_CUDA = "11.8";

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Sorts version strings ascending. */
export function sortVersions(list: readonly string[]): string[] {
  return [...list].sort(compareVersions);
}

/** `12.8.1` matches `12.8` and `12.8.1`. */
function cudaMatches(imageCuda: string, wanted: string): boolean {
  return imageCuda === wanted || imageCuda.startsWith(`${wanted}.`);
}

/** Torch rows for a (possibly minor-only) version: `2.3` -> newest 2.3.x. */
export function torchRow(version: string) {
  const clean = version.split("+")[0];
  const exact = TORCH_MATRIX.find((r) => r.torch === clean);
  if (exact) return exact;
  const candidates = TORCH_MATRIX.filter((r) => r.torch.startsWith(`${clean}.`));
  return candidates.length ? candidates[candidates.length - 1] : undefined;
}

function cudnnsFor(cuda: string): string[] {
  return sortVersions([
    ...new Set(CUDA_IMAGES.filter((i) => cudaMatches(i.cuda, cuda)).map((i) => i.cudnn)),
  ]);
}

/**
 * Resolves CUDA/cuDNN for a GPU config. Throws Error with Cog's message when the
 * combination cannot work (the caller adds the file name).
 */
export function resolveCuda(config: CogConfig, requirements: readonly Requirement[]): ResolvedCuda {
  const warnings: string[] = [];
  const torch = findRequirement(requirements, "torch");
  const tf = findRequirement(requirements, "tensorflow");
  let cuda = config.build.cuda;
  let cudnn = config.build.cudnn;
  let torchVersion: string | undefined;

  if (torch) {
    if (!torch.version) throw new Error("torch version must be specified when using CUDA");
    torchVersion = torch.version;
    const row = torchRow(torch.version);
    const suffix = /\+cu(\d+)(\d)$/.exec(torch.version);
    if (!cuda && suffix) cuda = `${suffix[1]}.${suffix[2]}`;
    if (!row) {
      if (!cuda) {
        throw new Error(
          `cog doesn't know what CUDA version is compatible with torch==${torch.version}. You might need to upgrade Cog: https://github.com/replicate/cog#upgrade\n\nIf that doesn't work, you need to set the 'cuda' option in cog.yaml to set what version to use. You might be able to find this out from https://pytorch.org/`,
        );
      }
    } else if (!cuda) {
      cuda = sortVersions(row.cudas).at(-1);
    } else if (!row.cudas.some((c) => cudaMatches(cuda!, c) || cudaMatches(c, cuda!))) {
      const best = sortVersions(row.cudas).at(-1);
      warnings.push(
        `Cog doesn't know if CUDA ${cuda} is compatible with PyTorch ${torch.version}. This might cause CUDA problems.`,
      );
      if (best) warnings.push(`Try ${best} instead?`);
    }
  } else if (tf) {
    const entry = tf.version
      ? TF_MATRIX.find((e) => e.tf.some((p) => tf.version === p || tf.version!.startsWith(`${p}.`)))
      : undefined;
    if (!entry && !cuda) {
      throw new Error(
        `cog doesn't know what CUDA version is compatible with tensorflow==${
          tf.version ?? "(unpinned)"
        }. You might need to upgrade Cog: https://github.com/replicate/cog#upgrade`,
      );
    }
    if (entry && !cuda) {
      cuda = entry.cuda;
      cudnn ??= entry.cudnn;
    }
  }
  cuda ??= DEFAULT_CUDA;
  const available = cudnnsFor(cuda);
  if (available.length === 0) throw new Error(`CUDA ${cuda} is not supported by Cog`);
  if (cudnn && !available.includes(cudnn)) {
    throw new Error(
      `CUDA ${cuda} is incompatible with CuDNN ${cudnn}: compatible CuDNN versions are: ${
        available.join(", ")
      }`,
    );
  }
  cudnn ??= available.at(-1)!;
  return { cuda, cudnn, torch: torchVersion, warnings };
}

/** The nvidia/cuda image for a CUDA/cuDNN pair (newest CUDA patch, newest Ubuntu). */
export function cudaBaseImage(cuda: string, cudnn: string): string {
  const match = CUDA_IMAGES.filter((i) => cudaMatches(i.cuda, cuda) && i.cudnn === cudnn)
    .sort((a, b) => compareVersions(b.cuda, a.cuda) || compareVersions(b.ubuntu, a.ubuntu));
  if (match.length === 0) {
    throw new Error(`no matching base image for CUDA ${cuda} and CuDNN ${cudnn}`);
  }
  return `nvidia/cuda:${match[0].tag}`;
}

/** The highest torch CUDA variant not above `cuda`, as a wheel index tag (`cu128`). */
export function torchCudaIndexTag(torchVersion: string, cuda: string): string | undefined {
  const row = torchRow(torchVersion);
  if (!row) return undefined;
  const fit = sortVersions(row.cudas).filter((c) => compareVersions(c, cuda) <= 0).at(-1);
  return fit ? `cu${fit.replace(".", "")}` : undefined;
}
