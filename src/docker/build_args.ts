// Argument lists for building an image with buildx, with BuildKit in the plain docker
// client, or with the classic builder. Pure.

/** Which builder the docker client offers. */
export type BuilderKind = "buildx" | "buildkit" | "classic";

/** BuildKit progress display modes. */
export type ProgressMode = "auto" | "tty" | "plain" | "quiet";

/** Options for {@linkcode buildArgs}. */
export interface BuildArgsOptions {
  builder: BuilderKind;
  dockerfile: string;
  tag: string;
  /** Main context directory. */
  context: string;
  /** Named build contexts (`cog_build` -> staging dir); buildx only. */
  namedContexts?: Record<string, string>;
  progress?: string;
  labels?: Record<string, string>;
  /** `--secret` specs (`id=foo,src=path`); BuildKit only. */
  secrets?: string[];
  noCache?: boolean;
}

/** The docker arguments plus the environment the command needs. */
export interface DockerCommand {
  args: string[];
  env: Record<string, string>;
}

/**
 * Builds the argument list for `docker buildx build` / `docker build`.
 *
 * @example
 * ```ts
 * buildArgs({ builder: "classic", dockerfile: "/p/.cog/build/Dockerfile", tag: "cog-p", context: "/p/.cog/build" });
 * // { args: ["build", "--file", ..., "--tag", "cog-p", "/p/.cog/build"], env: { DOCKER_BUILDKIT: "0" } }
 * ```
 */
export function buildArgs(options: BuildArgsOptions): DockerCommand {
  const { builder } = options;
  const args: string[] = builder === "buildx"
    ? ["buildx", "build", "--platform", "linux/amd64"]
    : ["build"];
  args.push("--file", options.dockerfile, "--tag", options.tag);
  if (builder === "buildx") {
    for (const [name, dir] of Object.entries(options.namedContexts ?? {})) {
      args.push("--build-context", `${name}=${dir}`);
    }
  } else if (options.namedContexts && Object.keys(options.namedContexts).length > 0) {
    throw new Error("named build contexts need docker buildx");
  }
  const progress = options.progress ?? "auto";
  if (progress === "quiet") args.push("--quiet");
  else if (builder !== "classic") args.push("--progress", progress);
  if (builder === "buildx") args.push("--cache-to", "type=inline", "--load");
  if (options.noCache) args.push("--no-cache");
  for (const secret of options.secrets ?? []) {
    if (builder === "classic") throw new Error("--secret needs BuildKit (install docker buildx)");
    args.push("--secret", secret);
  }
  for (const [k, v] of Object.entries(options.labels ?? {})) args.push("--label", `${k}=${v}`);
  args.push(options.context);
  const env: Record<string, string> = builder === "buildx"
    ? {}
    : { DOCKER_BUILDKIT: builder === "buildkit" ? "1" : "0" };
  return { args, env };
}

/** The progress mode: the flag, else $BUILDKIT_PROGRESS, else plain on TERM=dumb, else auto. */
export function progressMode(
  flag: string | undefined,
  env: { get(name: string): string | undefined },
): string {
  if (flag) return flag;
  const fromEnv = env.get("BUILDKIT_PROGRESS");
  if (fromEnv) return fromEnv;
  return env.get("TERM") === "dumb" ? "plain" : "auto";
}
