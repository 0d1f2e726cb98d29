// The typed, validated shape of cog.yaml (field names as in the file) and its zod schema.
import { z } from "zod";

/** A `--mount` on a build.run step; only secrets are supported, as in Cog. */
export interface RunMount {
  type: "secret";
  id: string;
  target: string;
}

/** One build.run step: a shell command plus optional secret mounts. */
export interface RunStep {
  command: string;
  mounts: RunMount[];
}

/** The `build:` section, with defaults filled in. */
export interface BuildConfig {
  python_version: string;
  gpu: boolean;
  cuda?: string;
  cudnn?: string;
  python_requirements?: string;
  python_packages: string[];
  system_packages: string[];
  run: RunStep[];
  pre_install: string[];
  sdk_version?: string;
}

/** A validated cog.yaml. */
export interface CogConfig {
  build: BuildConfig;
  /** Effective runner reference (`run:`, or the deprecated `predict:`), e.g. `predict.py:Predictor`. */
  run?: string;
  /** The deprecated `predict:` as written, if that spelling was used. */
  predict?: string;
  train?: string;
  image?: string;
  model?: string;
  concurrency?: { max?: number; default_target?: number };
  /** `NAME=value` entries, in file order. */
  environment: string[];
}

/** Python version used when cog.yaml has no `build:` section at all. */
export const DEFAULT_PYTHON_VERSION = "3.13";

/** Fields Cog knows, per section; anything else is ignored with a warning. */
export const KNOWN_FIELDS = {
  top: [
    "build",
    "run",
    "predict",
    "train",
    "image",
    "model",
    "concurrency",
    "environment",
    "weights",
  ],
  build: [
    "python_version",
    "gpu",
    "cuda",
    "cudnn",
    "python_requirements",
    "python_packages",
    "system_packages",
    "run",
    "pre_install",
    "sdk_version",
  ],
  removedBuild: ["fast", "cog_runtime", "python_overrides"],
  concurrency: ["max", "default_target"],
} as const;

const YAML11_BOOLEANS: Record<string, boolean> = {
  yes: true,
  y: true,
  on: true,
  true: true,
  no: false,
  n: false,
  off: false,
  false: false,
};

/** Booleans also accept YAML 1.1 spellings (yes/no/on/off), like Go's YAML decoder. */
const yamlBoolean = z.preprocess(
  (v) =>
    typeof v === "string" && v.toLowerCase() in YAML11_BOOLEANS
      ? YAML11_BOOLEANS[v.toLowerCase()]
      : v,
  z.boolean(),
);

/** Version-ish fields: numbers are accepted and read as their text. */
const versionString = z.union([z.string(), z.number()]).transform(String);

const mountSchema = z.object({
  type: z.literal("secret"),
  id: z.string(),
  target: z.string(),
});

const runItemSchema = z.union([
  z.string(),
  z.object({
    command: z.string(),
    mounts: z.array(mountSchema).nullish(),
  }),
]);

const stringList = z.array(z.string()).nullish();

/** zod schema for the raw file data (unknown keys pass through; they only warn). */
export const rawConfigSchema = z.object({
  build: z.object({
    python_version: versionString.nullish(),
    gpu: yamlBoolean.nullish(),
    cuda: versionString.nullish(),
    cudnn: versionString.nullish(),
    python_requirements: z.string().nullish(),
    python_packages: stringList,
    system_packages: stringList,
    run: z.array(runItemSchema).nullish(),
    pre_install: stringList,
    sdk_version: versionString.nullish(),
  }).nullish(),
  run: z.string().nullish(),
  predict: z.string().nullish(),
  train: z.string().nullish(),
  image: z.string().nullish(),
  model: z.string().nullish(),
  concurrency: z.object({
    max: z.int().nullish(),
    default_target: z.int().nullish(),
  }).nullish(),
  environment: stringList,
  weights: z.array(z.unknown()).nullish(),
});

/** What {@linkcode rawConfigSchema} produces. */
export type RawConfig = z.infer<typeof rawConfigSchema>;
