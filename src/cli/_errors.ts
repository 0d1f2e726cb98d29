// Errors the CLI reports as one message and exit code 1 (main.ts prints them).

/** A usage or user-facing error: printed as is, exit code 1. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  /** The command's usage text, printed before the message (flag and argument errors). */
  readonly usage?: string;
  constructor(message: string, exitCode = 1, usage?: string) {
    super(message);
    this.exitCode = exitCode;
    this.usage = usage;
  }
}
