// config -> Dockerfile text. Pure: no I/O; everything the image needs from the host is
// COPY'd from the staging dir (.cog/build/), either as the named context `cog_build` or
// as the main context itself.
//
// Offline-first choices (documented in ARCHITECTURE notes of this folder's mod.ts):
// no `#syntax=` line (it would pull a frontend image), no tini (the server is PID 1 and
// handles SIGINT/SIGTERM itself), no pip/uv/apt step unless the config asks for packages,
// and the Cog runtime is our own server + Python SDK copied in from the shared runtime
// image (one per cog version) right after FROM, never pip-installed.
import type { CogConfig, RunStep } from "../config/mod.ts";
import type { BaseImage } from "./base_image.ts";
import type { ResolvedCuda } from "./resolve_cuda.ts";

/** Where the image's runtime (cog + Python SDK) lives. */
export const RUNTIME_DIR = "/opt/cog";

/**
 * The Dockerfile of the runtime image (`cog-runtime:<version>-<key>`); its context holds
 * only `opt/cog/`. `COPY . /` (not `COPY opt/ /opt/`) so /opt, too, keeps the context's
 * fixed metadata instead of getting the time of the build. Dockerfile.base is this text.
 */
export const RUNTIME_IMAGE_DOCKERFILE = `FROM scratch
COPY . /
`;

/**
 * The line that puts the runtime into a model image, right after its FROM. The whole
 * root of the runtime image (only `opt/cog/`) is copied so every directory in the layer,
 * /opt included, carries the runtime's fixed metadata: the layer's bytes do not depend
 * on when it was built.
 */
export function runtimeCopyLine(runtimeImage: string): string {
  return `COPY --from=${runtimeImage} / /`;
}

/** The container's default command: our server in no-Docker mode on port 5000. */
export const SERVER_COMMAND = ["cog", "serve", "--no-docker", "--host", "0.0.0.0", "-p", "5000"];

/** cog-base images already ship these; they are dropped from system_packages there. */
export const COG_BASE_PACKAGES = new Set([
  "build-essential",
  "cmake",
  "curl",
  "ffmpeg",
  "findutils",
  "g++",
  "gcc",
  "git",
  "libavcodec-dev",
  "libcairo2-dev",
  "libfontconfig1",
  "libgirepository1.0-dev",
  "libgl1",
  "libglx-mesa0",
  "libglib2.0-0",
  "libopencv-dev",
  "libsm6",
  "libsndfile1",
  "libssl-dev",
  "libunistring-dev",
  "libxext6",
  "libxrender1",
  "sox",
  "unzip",
  "wget",
  "zip",
  "zstd",
]);

/** Options for {@linkcode generateDockerfile}. */
export interface DockerfileOptions {
  base: BaseImage;
  /** The shared runtime image (`cog-runtime:<version>-<key>`) copied in after FROM. */
  runtimeImage: string;
  /** Resolved CUDA stack (GPU configs). */
  cuda?: ResolvedCuda;
  /** Whether a requirements.txt is staged. */
  requirements: boolean;
  /** `cog build`: copy the source into /src (serve mounts it instead). */
  includeSource: boolean;
  /**
   * `named`: the main context is the project, staged files come `--from=cog_build`
   * (needs buildx). `staging`: the main context is the staging dir itself, with the project
   * source (if included) under `source/`. Works on every builder.
   */
  context: "named" | "staging";
  /** BuildKit features (`RUN --mount`) are available. Without them cache mounts are dropped. */
  buildkit: boolean;
  /** Config file name in the project when it is not `cog.yaml` (copied over it). */
  configFile?: string;
}

/** Quotes an ENV value when it is not a plain word; `$` is kept literal. */
export function envValue(value: string): string {
  if (/^[A-Za-z0-9_.\/:@%+,=-]*$/.test(value) && value !== "") return value;
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

function envLine(environment: readonly string[]): string[] {
  if (environment.length === 0) return [];
  const pairs = environment.map((e) => {
    const i = e.indexOf("=");
    return [e.slice(0, i), e.slice(i + 1)] as const;
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [`ENV ${pairs.map(([k, v]) => `${k}=${envValue(v)}`).join(" ")}`];
}

function cacheMount(buildkit: boolean, target: string, extra = ""): string {
  return buildkit ? `--mount=type=cache,target=${target}${extra} ` : "";
}

function aptInstall(packages: readonly string[], buildkit: boolean, flags = ""): string {
  return `RUN ${
    cacheMount(buildkit, "/var/cache/apt", ",sharing=locked")
  }apt-get update -qq && apt-get install -qqy ${flags}${
    packages.join(" ")
  } && rm -rf /var/lib/apt/lists/*`;
}

function runStep(step: RunStep, buildkit: boolean, index: number): string {
  if (step.mounts.length > 0 && !buildkit) {
    throw new Error(
      `build.run[${index}] uses a secret mount, which needs BuildKit: install docker buildx (or a Docker with BuildKit) to build this model`,
    );
  }
  const mounts = step.mounts.map((m) => `--mount=type=secret,id=${m.id},target=${m.target} `).join(
    "",
  );
  return `RUN ${mounts}${step.command}`;
}

/**
 * Generates the Dockerfile for a config.
 *
 * @example
 * ```ts
 * const text = generateDockerfile(config, {
 *   base: { image: "python:3.11-slim", kind: "python" },
 *   runtimeImage: "cog-runtime:0.1.0-0123456789abcdef",
 *   requirements: false, includeSource: false, context: "staging", buildkit: true,
 * });
 * ```
 */
export function generateDockerfile(config: CogConfig, options: DockerfileOptions): string {
  const { base, buildkit } = options;
  const from = options.context === "named" ? "--from=cog_build " : "";
  // The runtime first: with the same base, every model shares this layer (same parent,
  // same content: one cache entry, one layer to store, push and pull). The price: a new
  // cog version rebuilds the model's dependency steps (see ARCHITECTURE.md).
  const lines: string[] = [`FROM ${base.image}`, runtimeCopyLine(options.runtimeImage)];
  const cogBase = base.kind === "cog-base";
  const pythonViaUv = base.kind === "cuda";

  if (!cogBase) {
    lines.push(
      "ENV DEBIAN_FRONTEND=noninteractive",
      "ENV PYTHONUNBUFFERED=1",
      "ENV LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:/usr/local/nvidia/bin",
      "ENV NVIDIA_DRIVER_CAPABILITIES=all",
    );
  }
  lines.push(...envLine(config.environment));

  const system = cogBase
    ? config.build.system_packages.filter((p) => !COG_BASE_PACKAGES.has(p))
    : config.build.system_packages;
  if (system.length > 0) lines.push(aptInstall(system, buildkit));

  if (pythonViaUv) {
    const v = config.build.python_version;
    lines.push(
      aptInstall(
        ["wget", "curl", "xz-utils", "git", "ca-certificates"],
        buildkit,
        "--no-install-recommends ",
      ),
      "COPY --from=ghcr.io/astral-sh/uv:0.9.26 /uv /uvx /usr/local/bin/",
      "ENV UV_SYSTEM_PYTHON=true",
      `RUN uv python install ${v} && ln -sf $(uv python find ${v}) /usr/bin/python3 && ln -sf $(uv python find ${v}) /usr/local/bin/python`,
      `ENV UV_PYTHON=${v}`,
      'ENV PATH="/usr/local/bin:$PATH"',
    );
  }

  if (options.requirements) {
    const install = pythonViaUv
      ? `RUN ${
        cacheMount(buildkit, "/root/.cache/uv")
      }uv pip install --break-system-packages -r /tmp/requirements.txt`
      : `RUN ${cacheMount(buildkit, "/root/.cache/pip")}python -m pip install ${
        cogBase ? "" : "--break-system-packages "
      }--cache-dir /root/.cache/pip -r /tmp/requirements.txt`;
    lines.push(
      `COPY ${from}requirements.txt /tmp/requirements.txt`,
      'ENV CFLAGS="-O3 -funroll-loops -fno-strict-aliasing -flto -S"',
      install,
      "ENV CFLAGS=",
    );
  }

  if (!cogBase && config.build.gpu) {
    lines.push(
      'RUN find / -type f -name "*python*.so" -printf "%h\\n" | sort -u > /etc/ld.so.conf.d/cog.conf && ldconfig',
    );
  }

  config.build.run.forEach((step, i) => lines.push(runStep(step, buildkit, i)));
  for (const cmd of config.build.pre_install) lines.push(`RUN ${cmd}`);

  lines.push(
    `ENV COG_PYTHON_DIR=${RUNTIME_DIR}/python PATH=${RUNTIME_DIR}/bin:$PATH`,
    "WORKDIR /src",
    "EXPOSE 5000",
  );
  if (config.run) lines.push(`ENV COG_PREDICT_TYPE_STUB=${JSON.stringify(config.run)}`);
  if (config.train) lines.push(`ENV COG_TRAIN_TYPE_STUB=${JSON.stringify(config.train)}`);
  if (config.concurrency?.max !== undefined) {
    lines.push(`ENV COG_MAX_CONCURRENCY=${config.concurrency.max}`);
  }
  lines.push(`CMD ${JSON.stringify(SERVER_COMMAND).replaceAll('","', '", "')}`);

  if (options.includeSource) {
    lines.push(options.context === "named" ? "COPY . /src" : "COPY source/ /src/");
    if (options.configFile && options.configFile !== "cog.yaml") {
      lines.push(`RUN cp ${JSON.stringify(`/src/${options.configFile}`)} /src/cog.yaml`);
    }
  }
  return lines.join("\n") + "\n";
}
