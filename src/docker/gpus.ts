// --gpus values, in `docker run --gpus` syntax.

/**
 * Validates a `--gpus` value: `all`, a count `N`, or `device=0,1` (optionally quoted as
 * `"device=0,1"`). Empty means no GPUs (undefined). Throws Error otherwise.
 */
export function parseGpus(value: string): string | undefined {
  const v = value.trim();
  if (v === "") return undefined;
  if (v === "all" || /^\d+$/.test(v)) return v;
  if (/^"?device=[A-Za-z0-9,:-]+"?$/.test(v)) return v;
  throw new Error(
    `invalid GPU specification: "${value}" (use all, a count such as 2, or "device=0,1")`,
  );
}

/** The GPUs for a run: the flag when given (even empty), else `all` when build.gpu is true. */
export function gpusFor(
  flag: string | undefined,
  configGpu: boolean,
): { gpus?: string; auto: boolean } {
  if (flag !== undefined) return { gpus: parseGpus(flag), auto: false };
  return configGpu ? { gpus: "all", auto: true } : { auto: false };
}

/** Whether a docker run failure means the host has no NVIDIA runtime (retry without GPUs). */
export function isMissingGpuDriver(stderr: string): boolean {
  return stderr.includes("could not select device driver") ||
    stderr.includes("nvidia-container-cli: initialization error");
}
