// User-facing CLI messages on stderr, with Cog's prefixes when colour is on.

/** Where CLI messages go. Tests pass a recording fake. */
export interface Output {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  success(message: string): void;
  blank(): void;
}

/** Options for {@linkcode createOutput}. */
export interface OutputOptions {
  /** Force colour on/off; default: stderr is a terminal and NO_COLOR/COG_NO_COLOR/TERM=dumb are unset. */
  color?: boolean;
  write?: (text: string) => void;
}

function defaultColor(): boolean {
  try {
    if (
      Deno.env.get("NO_COLOR") || Deno.env.get("COG_NO_COLOR") || Deno.env.get("TERM") === "dumb"
    ) return false;
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** Creates the stderr output: ` ⚙  info`, ` ⚠ warning`, ` ✗ error`, ` ✔ success` with colour, plain text without. */
export function createOutput(options: OutputOptions = {}): Output {
  const color = options.color ?? defaultColor();
  const encoder = new TextEncoder();
  const write = options.write ??
    ((text: string) => void Deno.stderr.writeSync(encoder.encode(text)));
  const line = (prefix: string, style: string, message: string) => {
    if (!color) return write(`${message}\n`);
    write(
      message.split("\n").map((l, i) => `${i === 0 ? prefix : "   "}${style}${l}\x1b[0m`).join(
        "\n",
      ) + "\n",
    );
  };
  return {
    info: (m) => line(" ⚙  ", "", m),
    warn: (m) => line(" \x1b[33m⚠\x1b[0m ", "\x1b[33m", m),
    error: (m) => line(" \x1b[31m✗\x1b[0m ", "\x1b[31m", m),
    success: (m) => line(" \x1b[32m✔\x1b[0m ", "\x1b[1m", m),
    blank: () => write("\n"),
  };
}
