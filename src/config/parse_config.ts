// Parses and validates cog.yaml text into a CogConfig, with Cog's error texts located by
// file and line, and warnings for unknown or deprecated fields.
import { isAbsolute, join } from "node:path";
import type { z } from "zod";
import { ConfigError, type ConfigIssue, formatIssue } from "./config_error.ts";
import { joinPath, parseYaml } from "./_yaml.ts";
import {
  type CogConfig,
  DEFAULT_PYTHON_VERSION,
  KNOWN_FIELDS,
  type RawConfig,
  rawConfigSchema,
  type RunStep,
} from "./cog_config.ts";

/** Options for {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** Name used in messages, e.g. `cog.yaml`. */
  file?: string;
  /** When given, `build.python_requirements` must exist relative to it. */
  projectDir?: string;
}

/** A parsed config, its warnings (already formatted `file:line: ...`) and source lines. */
export interface ParsedConfig {
  config: CogConfig;
  warnings: string[];
  /** Line of each field path, e.g. `build.gpu` -> 4. */
  lines: ReadonlyMap<string, number>;
}

const RESERVED_ENV_EXACT = new Set([
  "PATH",
  "LD_LIBRARY_PATH",
  "PYTHONPATH",
  "VIRTUAL_ENV",
  "PYTHONUNBUFFERED",
  "LIBRARY_PATH",
  "HF_ENDPOINT",
  "HF_HUB_ENABLE_HF_TRANSFER",
]);
const RESERVED_ENV_PREFIXES = [
  "R8_",
  "REPLICATE_",
  "CUDA_",
  "NVIDIA_",
  "NV_",
  "PGET_",
  "KUBERNETES_",
];

/**
 * Parses cog.yaml text. Throws ConfigError listing every problem found.
 *
 * @example
 * ```ts
 * const { config } = parseConfig('build:\n  python_version: 3.10\n', { file: "cog.yaml" });
 * config.build.python_version; // "3.10"
 * ```
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): ParsedConfig {
  const file = options.file ?? "cog.yaml";
  const parsed = parseYaml(text);
  if (!("data" in parsed)) {
    throw new ConfigError({ file, line: parsed.line, message: `invalid YAML: ${parsed.message}` });
  }
  const { lines } = parsed;
  const data = parsed.data ?? {};
  const issue = (path: string, message: string): ConfigIssue => ({
    file,
    line: lineFor(lines, path),
    message,
  });
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError({
      file,
      line: 1,
      message: `the file must be a mapping of fields (build:, run:, ...), got ${describe(data)}`,
    });
  }

  const warnings: ConfigIssue[] = unknownFieldWarnings(data as Record<string, unknown>, issue);

  const result = rawConfigSchema.safeParse(data);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => zodIssue(i, data, issue)));
  }
  const raw = result.data;
  const errors: ConfigIssue[] = [];
  const config = normalize(raw, errors, warnings, issue, options.projectDir);
  if (errors.length > 0) throw new ConfigError(errors);
  return { config, warnings: warnings.map(formatIssue), lines };
}

function lineFor(lines: ReadonlyMap<string, number>, path: string): number | undefined {
  // Fall back to the closest parent that has a line (e.g. a missing field -> its section).
  let p = path;
  while (p !== "") {
    const l = lines.get(p);
    if (l !== undefined) return l;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    p = cut <= 0 ? "" : p.slice(0, cut);
  }
  return undefined;
}

type IssueAt = (path: string, message: string) => ConfigIssue;

function unknownFieldWarnings(data: Record<string, unknown>, issue: IssueAt): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const check = (
    obj: unknown,
    prefix: string,
    known: readonly string[],
    removed: readonly string[] = [],
  ) => {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) return;
    for (const key of Object.keys(obj)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (removed.includes(key)) {
        out.push(issue(path, `field "${path}" is no longer used by Cog and is ignored`));
      } else if (!known.includes(key)) {
        const where = prefix ? `in ${prefix} ` : "";
        out.push(
          issue(path, `unknown field "${path}" ${where}is ignored (allowed: ${known.join(", ")})`),
        );
      }
    }
  };
  check(data, "", KNOWN_FIELDS.top);
  check(data.build, "build", KNOWN_FIELDS.build, KNOWN_FIELDS.removedBuild);
  check(data.concurrency, "concurrency", KNOWN_FIELDS.concurrency);
  return out;
}

const EXPECTED_NAMES: Record<string, string> = {
  string: "a string",
  boolean: "a boolean (true or false)",
  number: "a number",
  int: "an integer",
  array: "a list",
  object: "a mapping",
};

/** Human descriptions of union fields, by path pattern. */
function unionDescription(path: string): string {
  if (/^build\.run\[\d+\]$/.test(path)) {
    return 'a command string or a mapping with "command" (and optional "mounts")';
  }
  if (/^build\.(python_version|cuda|cudnn|sdk_version)$/.test(path)) {
    return 'a version string such as "3.11"';
  }
  return "a valid value";
}

function zodIssue(i: z.core.$ZodIssue, data: unknown, issue: IssueAt): ConfigIssue {
  const path = joinPath(i.path as (string | number)[]);
  const value = valueAt(data, i.path as (string | number)[]);
  switch (i.code) {
    case "invalid_type": {
      if (value === undefined) return issue(path, `${path} is required`);
      const expected = /^concurrency\./.test(path)
        ? "an integer"
        : EXPECTED_NAMES[i.expected] ?? i.expected;
      return issue(path, `${path} must be ${expected}, got ${describe(value)}`);
    }
    case "invalid_union": {
      // A mapping that almost fits the mapping branch: report what is wrong inside it.
      const inner = value !== null && typeof value === "object" && !Array.isArray(value)
        ? i.errors.map((branch) => branch.filter((b) => b.path.length > 0)).find((b) =>
          b.length > 0
        )
        : undefined;
      if (inner) {
        return zodIssue(
          { ...inner[0], path: [...i.path, ...inner[0].path] } as z.core.$ZodIssue,
          data,
          issue,
        );
      }
      return issue(path, `${path} must be ${unionDescription(path)}, got ${describe(value)}`);
    }
    case "invalid_value":
      return issue(
        path,
        `${path} must be ${i.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${
          describe(value)
        }`,
      );
    default:
      return issue(path, `${path}: ${i.message}`);
  }
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Describes a value for messages: strings quoted, lists and mappings by kind. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

function checkRef(
  value: string,
  field: "run" | "predict" | "train",
  errors: ConfigIssue[],
  issue: IssueAt,
): void {
  const example =
    { run: "run.py:Runner", predict: "predict.py:Predictor", train: "train.py:Trainer" }[field];
  if (value.split(".py:").length !== 2 || value.endsWith(".py:")) {
    errors.push(issue(field, `invalid ${field} "${value}": must be in the form '${example}'`));
  }
}

function checkPythonVersion(v: string, errors: ConfigIssue[], issue: IssueAt): void {
  const bad = (why: string): void =>
    void errors.push(issue("build.python_version", `invalid build.python_version "${v}": ${why}`));
  const parts = v.split(".");
  if (parts.length < 2 || parts.length > 3) {
    return bad("must include major and minor version (e.g., '3.11')");
  }
  if (!/^\d+$/.test(parts[0])) return bad("invalid major version number");
  if (!/^\d+$/.test(parts[1])) return bad("invalid minor version number");
  if (parts[2] !== undefined && !/^\d+$/.test(parts[2])) return bad("invalid patch version number");
  const [major, minor] = [Number(parts[0]), Number(parts[1])];
  if (major < 3 || (major === 3 && minor < 10)) {
    bad("minimum supported Python version is 3.10");
  }
}

function checkCuda(v: string, errors: ConfigIssue[], issue: IssueAt): void {
  const bad = (why: string): void =>
    void errors.push(issue("build.cuda", `invalid build.cuda "${v}": ${why}`));
  if (!/^\d+\.\d+(\.\d+)?$/.test(v)) {
    return bad("must include both major and minor versions (e.g., '11.8')");
  }
  if (Number(v.split(".")[0]) < 11) bad("minimum supported CUDA version is 11");
}

function checkEnvironment(env: string[], errors: ConfigIssue[], issue: IssueAt): void {
  const seen = new Set<string>();
  env.forEach((entry, i) => {
    const path = `environment[${i}]`;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(entry);
    if (!m) {
      errors.push(
        issue(
          path,
          `invalid environment: environment variable "${entry}" is not in the KEY=VALUE format`,
        ),
      );
      return;
    }
    const name = m[1];
    if (RESERVED_ENV_EXACT.has(name) || RESERVED_ENV_PREFIXES.some((p) => name.startsWith(p))) {
      errors.push(
        issue(
          path,
          `invalid environment: environment variable "${name}" is not allowed: reserved for internal use`,
        ),
      );
    } else if (seen.has(name)) {
      errors.push(
        issue(path, `invalid environment: environment variable "${name}" is already defined`),
      );
    }
    seen.add(name);
  });
}

function pythonAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

function normalize(
  raw: RawConfig,
  errors: ConfigIssue[],
  warnings: ConfigIssue[],
  issue: IssueAt,
  projectDir: string | undefined,
): CogConfig {
  const b = raw.build ?? undefined;
  let python = b?.python_version ?? undefined;
  if (raw.build !== undefined && raw.build !== null && !python) {
    errors.push(issue(
      "build",
      'invalid build.python_version: python_version is required. Add it to the build section of your cog.yaml, e.g. python_version: "3.13"',
    ));
  }
  if (python) checkPythonVersion(python, errors, issue);
  python ??= DEFAULT_PYTHON_VERSION;

  if (b?.cuda) checkCuda(b.cuda, errors, issue);
  if (b?.cudnn && !/^\d+(\.\d+)*$/.test(b.cudnn)) {
    errors.push(
      issue(
        "build.cudnn",
        `invalid build.cudnn "${b.cudnn}": must be a major version number such as 8 or 9`,
      ),
    );
  }
  if (b?.python_packages?.length && b?.python_requirements) {
    errors.push(
      issue(
        "build.python_requirements",
        "invalid build: only one of python_packages or python_requirements can be set, not both",
      ),
    );
  }
  if (b?.python_packages?.length) {
    warnings.push(
      issue(
        "build.python_packages",
        'deprecated field "build.python_packages": use "build.python_requirements" instead',
      ),
    );
  }
  if (b?.pre_install?.length) {
    warnings.push(
      issue("build.pre_install", 'deprecated field "build.pre_install": use "build.run" instead'),
    );
  }
  if (b?.sdk_version) {
    warnings.push(
      issue(
        "build.sdk_version",
        "build.sdk_version is ignored: the Cog Python SDK is bundled with this cog",
      ),
    );
  }
  if (b?.python_requirements && projectDir !== undefined) {
    const p = isAbsolute(b.python_requirements)
      ? b.python_requirements
      : join(projectDir, b.python_requirements);
    let exists = false;
    try {
      exists = Deno.statSync(p).isFile;
    } catch { /* missing */ }
    if (!exists) {
      errors.push(
        issue(
          "build.python_requirements",
          `invalid build.python_requirements "${b.python_requirements}": file does not exist`,
        ),
      );
    }
  }

  const run: RunStep[] = [];
  (b?.run ?? []).forEach((item, i) => {
    const step: RunStep = typeof item === "string"
      ? { command: item.trim(), mounts: [] }
      : { command: item.command.trim(), mounts: item.mounts ?? [] };
    if (step.command.includes("\n")) {
      errors.push(issue(
        `build.run[${i}]`,
        "One of the commands in 'run' contains a new line, which won't work. You need to create a new list item in YAML prefixed with '-' for each command.\n\nThis is the offending line: " +
          step.command,
      ));
    }
    if (step.command === "") {
      errors.push(issue(`build.run[${i}]`, `build.run[${i}] must not be empty`));
    }
    run.push(step);
  });

  if (raw.run && raw.predict) {
    errors.push(issue("predict", "invalid run: only one of run or predict can be set"));
  }
  if (raw.run) checkRef(raw.run, "run", errors, issue);
  if (raw.predict) {
    checkRef(raw.predict, "predict", errors, issue);
    warnings.push(issue("predict", 'deprecated field "predict": use "run" instead'));
  }
  if (raw.train) checkRef(raw.train, "train", errors, issue);
  if (raw.model && raw.image) {
    errors.push(issue("model", "invalid model: 'model' and 'image' cannot both be set"));
  }

  const max = raw.concurrency?.max ?? undefined;
  if (max !== undefined) {
    if (max < 1) {
      errors.push(issue("concurrency.max", `invalid concurrency.max "${max}": must be at least 1`));
    } else if (max > 1 && !pythonAtLeast(python, 3, 11)) {
      errors.push(
        issue(
          "concurrency.max",
          `invalid concurrency.max "${max}": concurrency requires Python 3.11 or higher`,
        ),
      );
    }
    warnings.push(
      issue(
        "concurrency.max",
        'deprecated field "concurrency.max": use "@cog.concurrent(max=...)" instead',
      ),
    );
  }

  const environment = raw.environment ?? [];
  checkEnvironment(environment, errors, issue);

  const config: CogConfig = {
    build: {
      python_version: python,
      gpu: b?.gpu ?? false,
      python_packages: b?.python_packages ?? [],
      system_packages: b?.system_packages ?? [],
      run,
      pre_install: b?.pre_install ?? [],
    },
    environment,
  };
  if (b?.cuda) config.build.cuda = b.cuda;
  if (b?.cudnn) config.build.cudnn = b.cudnn;
  if (b?.python_requirements) config.build.python_requirements = b.python_requirements;
  if (b?.sdk_version) config.build.sdk_version = b.sdk_version;
  const ref = raw.run ?? raw.predict ?? undefined;
  if (ref) config.run = ref;
  if (raw.predict) config.predict = raw.predict;
  if (raw.train) config.train = raw.train;
  if (raw.image) config.image = raw.image;
  if (raw.model) config.model = raw.model;
  if (raw.concurrency) {
    config.concurrency = {};
    if (max !== undefined) config.concurrency.max = max;
    if (raw.concurrency.default_target != null) {
      config.concurrency.default_target = raw.concurrency.default_target;
    }
  }
  return config;
}
