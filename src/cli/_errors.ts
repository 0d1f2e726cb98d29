// Errors the CLI reports as one message and exit code 1 (main.ts prints them).

/** A usage or user-facing error: printed as is, exit code 1. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
