// --watch: hot reload. Watches the project for .py edits and cog.yaml
// changes; restarts the worker (after running predictions finish) for code
// and predictor changes, and says plainly when a change needs a rebuild.

import { type CogConfig, loadConfig } from "../config/mod.ts";
import type { Logger, PredictionService } from "../server/mod.ts";

/** Options for {@linkcode watchProject}. */
export interface WatchOptions {
  projectDir: string;
  configPath: string;
  configFile?: string;
  config: CogConfig;
  service: PredictionService;
  log: Logger;
  /** Quiet period before acting on a burst of file events, ms. */
  debounceMs?: number;
}

const IGNORED = /(^|\/)(\.cog|\.git|__pycache__|node_modules|\.venv|venv)(\/|$)/;

function buildKey(config: CogConfig, requirements: string | null): string {
  return JSON.stringify({ build: config.build, environment: config.environment, requirements });
}

async function readRequirements(projectDir: string, config: CogConfig): Promise<string | null> {
  const file = config.build.python_requirements;
  if (!file) return null;
  try {
    return await Deno.readTextFile(file.startsWith("/") ? file : `${projectDir}/${file}`);
  } catch {
    return null;
  }
}

/** Starts watching; returns a function that stops it. */
export async function watchProject(options: WatchOptions): Promise<() => void> {
  const { projectDir, service, log } = options;
  let config = options.config;
  let envKey = buildKey(config, await readRequirements(projectDir, config));
  const watcher = Deno.watchFs(projectDir, { recursive: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = new Set<string>();
  let closed = false;

  const act = async () => {
    const paths = [...pending];
    pending = new Set();
    const configChanged = paths.some((p) => p === options.configPath);
    const requirementsPath = config.build.python_requirements
      ? `${projectDir}/${config.build.python_requirements}`
      : null;
    const requirementsChanged = requirementsPath !== null && paths.includes(requirementsPath);
    const codeChanged = paths.some((p) => p.endsWith(".py"));
    let refs: { predict?: string | null; train?: string | null } = {};
    if (configChanged || requirementsChanged) {
      try {
        const loaded = await loadConfig({ cwd: projectDir, file: options.configFile });
        const next = loaded.config;
        const nextKey = buildKey(next, await readRequirements(projectDir, next));
        if (nextKey !== envKey) {
          log(
            "warn",
            "the build environment in cog.yaml changed (build, environment or requirements): " +
              "rebuild needed, restart cog serve to apply it; code changes still reload",
          );
          envKey = nextKey;
        }
        if (next.run !== config.run || next.train !== config.train) {
          refs = { predict: next.run ?? null, train: next.train ?? null };
        }
        config = next;
      } catch (error) {
        log("error", `cog.yaml is invalid, not reloading: ${(error as Error).message}`);
        return;
      }
    }
    if (codeChanged || refs.predict !== undefined || refs.train !== undefined) {
      log(
        "info",
        `change detected (${
          paths.map((p) => p.slice(projectDir.length + 1)).join(", ")
        }): reloading`,
      );
      await service.reload(refs);
    }
  };

  (async () => {
    try {
      for await (const event of watcher) {
        if (closed) break;
        if (event.kind === "access") continue;
        for (const path of event.paths) {
          const rel = path.slice(projectDir.length);
          if (IGNORED.test(rel)) continue;
          if (
            path.endsWith(".py") || path === options.configPath ||
            (config.build.python_requirements && path.endsWith(config.build.python_requirements))
          ) {
            pending.add(path);
          }
        }
        if (pending.size > 0) {
          clearTimeout(timer);
          timer = setTimeout(() => void act(), options.debounceMs ?? 200);
        }
      }
    } catch (error) {
      if (!closed) log("error", `file watching stopped: ${(error as Error).message}`);
    }
  })();

  return () => {
    closed = true;
    clearTimeout(timer);
    try {
      watcher.close();
    } catch {
      // already closed
    }
  };
}
