// One wrapper around Deno.Command for every subprocess we start (the Python
// worker, docker): argument arrays only, line streams, a bounded stderr tail,
// SIGTERM then SIGKILL after a grace period, and the child always reaped.

/** Options for {@linkcode spawnChild}. */
export interface SpawnOptions {
  /** Working directory of the child. */
  cwd?: string;
  /** Extra environment variables (merged over the parent's unless `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment. */
  clearEnv?: boolean;
  /** "piped" to write to the child; default "null". */
  stdin?: "piped" | "null";
  /** Default "piped". */
  stdout?: "piped" | "inherit" | "null";
  /** Default "piped". */
  stderr?: "piped" | "inherit" | "null";
}

/** How a child ended. */
export interface ChildExit {
  code: number;
  signal: string | null;
  success: boolean;
}

/** A running child process. */
export class ChildProcess {
  readonly pid: number;
  readonly command: string;
  /** Resolves when the child has been reaped. */
  readonly exited: Promise<ChildExit>;
  #child: Deno.ChildProcess;
  #done = false;

  constructor(child: Deno.ChildProcess, command: string) {
    this.#child = child;
    this.pid = child.pid;
    this.command = command;
    this.exited = child.status.then((s) => {
      this.#done = true;
      return { code: s.code, signal: s.signal ?? null, success: s.success };
    });
  }

  /** True once the child has exited and been reaped. */
  get done(): boolean {
    return this.#done;
  }

  /** The child's stdin (only with `stdin: "piped"`). */
  get stdin(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  /** The child's stdout (only with `stdout: "piped"`). */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#child.stdout;
  }

  /** The child's stderr (only with `stderr: "piped"`). */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#child.stderr;
  }

  /** Sends a signal; a child that already exited is not an error. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#done) return;
    try {
      this.#child.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError) && !(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once reaped. */
  async terminate(graceMs = 5000): Promise<ChildExit> {
    if (this.#done) return await this.exited;
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.exited, killed]);
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `cmd` with `args` (an argument array, never a shell string). */
export function spawnChild(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const command = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: options.stdin ?? "null",
    stdout: options.stdout ?? "piped",
    stderr: options.stderr ?? "piped",
  });
  return new ChildProcess(command.spawn(), [cmd, ...args].join(" "));
}

/**
 * Splits a byte stream into lines (without the trailing "\n"). Lines of any
 * length are supported; a final line without "\n" is yielded too.
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let pending: string[] = [];
  try {
    while (true) {
      const { value: bytes, done } = await reader.read();
      if (done) break;
      const text = decoder.decode(bytes, { stream: true });
      let start = 0;
      let nl = text.indexOf("\n", start);
      while (nl !== -1) {
        pending.push(text.slice(start, nl));
        yield pending.length === 1 ? pending[0] : pending.join("");
        pending = [];
        start = nl + 1;
        nl = text.indexOf("\n", start);
      }
      if (start < text.length) pending.push(text.slice(start));
    }
  } finally {
    reader.releaseLock();
  }
  const rest = decoder.decode();
  if (rest) pending.push(rest);
  if (pending.length > 0) yield pending.join("");
}

/** Keeps the last `maxBytes` of text written to it (for error messages). */
export class TextTail {
  #chunks: string[] = [];
  #size = 0;
  readonly maxBytes: number;

  constructor(maxBytes = 8192) {
    this.maxBytes = maxBytes;
  }

  /** Appends text, dropping the oldest beyond the limit. */
  push(text: string): void {
    this.#chunks.push(text);
    this.#size += text.length;
    while (this.#size > this.maxBytes) {
      const excess = this.#size - this.maxBytes;
      const first = this.#chunks[0];
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.slice(excess);
        this.#size -= excess;
      }
    }
  }

  /** The retained text. */
  toString(): string {
    return this.#chunks.join("");
  }
}
