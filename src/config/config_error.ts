// ConfigError: what callers catch when cog.yaml cannot be found, parsed or validated.

/** One problem in a config file, located by file and (when known) 1-based line. */
export interface ConfigIssue {
  file: string;
  line?: number;
  message: string;
}

/** Formats an issue as `file:line: message` (or `file: message` without a line). */
export function formatIssue(issue: ConfigIssue): string {
  return issue.line === undefined
    ? `${issue.file}: ${issue.message}`
    : `${issue.file}:${issue.line}: ${issue.message}`;
}

/**
 * A cog.yaml problem. `message` holds every issue, one per line, each as
 * `cog.yaml:4: build.gpu must be a boolean, got "maybe"`.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  /** File of the first issue. */
  readonly file: string;
  /** Line of the first issue, when known. */
  readonly line?: number;

  constructor(issues: ConfigIssue[] | ConfigIssue) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = list;
    this.file = list[0]?.file ?? "";
    this.line = list[0]?.line;
  }
}
