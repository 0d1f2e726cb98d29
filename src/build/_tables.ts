// Data Cog embeds as JSON: torch -> CUDA variants, TensorFlow -> CUDA/cuDNN, and the
// nvidia/cuda devel images (cuDNN-flavoured) a GPU build may start FROM.

/** A torch release and the CUDA versions it has wheels for (the CPU wheel always exists). */
export interface TorchRow {
  torch: string;
  cudas: string[];
  pythons: [string, string];
}

function rows(versions: string[], cudas: string[], pythons: [string, string]): TorchRow[] {
  return versions.map((torch) => ({ torch, cudas, pythons }));
}

/** The torch/CUDA matrix (rows whose CUDA has no nvidia/cuda image, like 10.2, dropped). */
export const TORCH_MATRIX: readonly TorchRow[] = [
  ...rows(["1.11.0"], ["11.3"], ["3.10", "3.10"]),
  ...rows(["1.12.0", "1.12.1"], ["11.3", "11.6"], ["3.10", "3.10"]),
  ...rows(["1.13.0", "1.13.1"], ["11.6", "11.7"], ["3.10", "3.10"]),
  ...rows(["2.0.0", "2.0.1"], ["11.7", "11.8"], ["3.10", "3.11"]),
  ...rows(["2.1.0", "2.1.1", "2.1.2"], ["11.8", "12.1"], ["3.10", "3.11"]),
  ...rows(["2.2.0", "2.2.1", "2.2.2", "2.3.0", "2.3.1"], ["11.8", "12.1"], ["3.10", "3.12"]),
  ...rows(["2.4.0", "2.4.1", "2.5.0", "2.5.1"], ["11.8", "12.1", "12.4"], ["3.10", "3.12"]),
  ...rows(["2.6.0"], ["11.8", "12.4", "12.6"], ["3.10", "3.13"]),
  ...rows(["2.7.0", "2.7.1"], ["11.8", "12.6", "12.8"], ["3.10", "3.13"]),
  ...rows(["2.8.0"], ["12.6", "12.8", "12.9"], ["3.10", "3.13"]),
  ...rows(["2.9.0", "2.9.1", "2.10.0"], ["12.6", "12.8", "13.0"], ["3.10", "3.14"]),
  ...rows(["2.11.0"], ["12.6", "12.8", "12.9", "13.0"], ["3.10", "3.14"]),
];

/** TensorFlow minor version prefix -> CUDA and cuDNN. */
export const TF_MATRIX: readonly { tf: string[]; cuda: string; cudnn: string }[] = [
  { tf: ["2.4"], cuda: "11.0", cudnn: "8" },
  { tf: ["2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11"], cuda: "11.2", cudnn: "8" },
  { tf: ["2.12", "2.13", "2.14"], cuda: "11.8", cudnn: "8" },
  { tf: ["2.15"], cuda: "12.2", cudnn: "8" },
  { tf: ["2.16", "2.17"], cuda: "12.3", cudnn: "8" },
  { tf: ["2.18", "2.19", "2.20", "2.21"], cuda: "12.5", cudnn: "9" },
];

/** An nvidia/cuda devel image with cuDNN. */
export interface CudaImage {
  tag: string;
  cuda: string;
  cudnn: string;
  ubuntu: string;
}

function img(cuda: string, cudnn: string, ubuntu: string, spelled = `cudnn${cudnn}`): CudaImage {
  return { tag: `${cuda}-${spelled}-devel-ubuntu${ubuntu}`, cuda, cudnn, ubuntu };
}

/** nvidia/cuda images (before 12.4 tags spell `cudnn8`, from 12.4 on just `cudnn`). */
export const CUDA_IMAGES: readonly CudaImage[] = [
  img("11.0.3", "8", "20.04"),
  img("11.1.1", "8", "20.04"),
  img("11.2.2", "8", "20.04"),
  img("11.3.1", "8", "20.04"),
  img("11.4.3", "8", "20.04"),
  img("11.5.2", "8", "20.04"),
  img("11.6.2", "8", "20.04"),
  img("11.7.1", "8", "22.04"),
  img("11.7.1", "8", "20.04"),
  img("11.8.0", "8", "22.04"),
  img("11.8.0", "8", "20.04"),
  img("12.0.1", "8", "22.04"),
  img("12.1.1", "8", "22.04"),
  img("12.1.1", "8", "20.04"),
  img("12.2.2", "8", "22.04"),
  img("12.3.2", "9", "22.04"),
  img("12.4.1", "9", "22.04", "cudnn"),
  img("12.5.1", "9", "22.04", "cudnn"),
  img("12.6.3", "9", "24.04", "cudnn"),
  img("12.6.3", "9", "22.04", "cudnn"),
  img("12.8.1", "9", "24.04", "cudnn"),
  img("12.8.1", "9", "22.04", "cudnn"),
  img("12.9.1", "9", "24.04", "cudnn"),
  img("13.0.3", "9", "24.04", "cudnn"),
];
