// DockerError: a docker command failed (or docker is missing / unreachable).

/** Options for {@linkcode DockerError}. */
export interface DockerErrorOptions {
  /** Exit code of the docker command, if it ran. */
  exitCode?: number;
  /** Last lines of its stderr. */
  stderrTail?: string;
  cause?: unknown;
}

/** A docker failure with a one-line user message, plus exit code and stderr tail for details. */
export class DockerError extends Error {
  readonly exitCode?: number;
  readonly stderrTail: string;

  constructor(message: string, options: DockerErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "DockerError";
    this.exitCode = options.exitCode;
    this.stderrTail = options.stderrTail ?? "";
  }
}

/** The last non-empty line of a stderr tail, for one-line messages. */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  return lines.at(-1) ?? "";
}
