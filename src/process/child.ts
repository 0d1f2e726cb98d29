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
  /**
   * Start the child in a session (and process group) of its own, so signals sent to
   * our terminal's process group (Ctrl+C, a service manager's SIGTERM) do not reach it.
   */
  newSession?: boolean;
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
    detached: options.newSession ?? false, // setsid() in the child
  });
  return new ChildProcess(command.spawn(), [cmd, ...args].join(" "));
}

/** Splits UTF-8 chunks into lines (without the trailing "\n"); lines of any length. */
class LineSplitter {
  #decoder = new TextDecoder();
  #pending: string[] = [];

  /** The complete lines `bytes` ends, in order, passed to `onLine`; false from it stops. */
  push(bytes: Uint8Array, onLine: (line: string) => boolean | void): boolean {
    const text = this.#decoder.decode(bytes, { stream: true });
    let start = 0;
    let nl = text.indexOf("\n", start);
    while (nl !== -1) {
      this.#pending.push(text.slice(start, nl));
      const line = this.#pending.length === 1 ? this.#pending[0] : this.#pending.join("");
      this.#pending = [];
      if (onLine(line) === false) return false;
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    if (start < text.length) this.#pending.push(text.slice(start));
    return true;
  }

  /** The final line without "\n", if any. */
  end(): string | null {
    const rest = this.#decoder.decode();
    if (rest) this.#pending.push(rest);
    return this.#pending.length > 0 ? this.#pending.join("") : null;
  }
}

const READ_SIZE = 1 << 16;

/**
 * Reads a byte stream chunk by chunk into one reused buffer when the stream allows
 * it (a child's stdout does): its default reader allocates a fresh 64 KiB buffer per
 * read, which at thousands of small reads a second kept the GC busy (measured: a full
 * mark-compact every ~100 ms under load, driven by external memory alone).
 */
class ChunkReader {
  #byob: ReadableStreamBYOBReader | null = null;
  #plain: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #buffer: ArrayBuffer = new ArrayBuffer(0);

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.#byob = stream.getReader({ mode: "byob" });
      this.#buffer = new ArrayBuffer(READ_SIZE);
    } catch {
      this.#plain = stream.getReader(); // not a byte stream
    }
  }

  /** The next chunk (valid until the next call), or null at the end. */
  async read(): Promise<Uint8Array | null> {
    if (this.#plain) {
      const { value, done } = await this.#plain.read();
      return done ? null : value;
    }
    const { value, done } = await this.#byob!.read(new Uint8Array(this.#buffer, 0, READ_SIZE));
    if (value) this.#buffer = value.buffer as ArrayBuffer;
    return done ? null : value!;
  }

  releaseLock(): void {
    (this.#byob ?? this.#plain)!.releaseLock();
  }
}

/**
 * Splits a byte stream into lines (without the trailing "\n"). Lines of any
 * length are supported; a final line without "\n" is yielded too.
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const splitter = new LineSplitter();
  const reader = new ChunkReader(stream);
  const lines: string[] = [];
  try {
    while (true) {
      const bytes = await reader.read();
      if (bytes === null) break;
      splitter.push(bytes, (line) => void lines.push(line));
      for (const line of lines) yield line;
      lines.length = 0;
    }
  } finally {
    reader.releaseLock();
  }
  const rest = splitter.end();
  if (rest !== null) yield rest;
}

/**
 * Calls `onLine` for every line of a byte stream, synchronously for all the lines
 * of one chunk (no promise per line, unlike `readLines`). Returning false from
 * `onLine` stops reading. Resolves at the end of the stream.
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => boolean | void,
): Promise<void> {
  const splitter = new LineSplitter();
  const reader = new ChunkReader(stream);
  try {
    while (true) {
      const bytes = await reader.read();
      if (bytes === null) break;
      if (!splitter.push(bytes, onLine)) return;
    }
  } finally {
    reader.releaseLock();
  }
  const rest = splitter.end();
  if (rest !== null) onLine(rest);
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
