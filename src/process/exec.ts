// Run-to-completion subprocesses (what src/docker needs): output captured,
// shown live (tee) or dropped; argument arrays only (never a shell string),
// stdin null unless asked, a bounded stderr tail, SIGTERM then SIGKILL, every
// child reaped. Long-lived children with line streams use child.ts.

/** How a child's output is handled. `tee` shows it live on our stderr and keeps the tail. */
/** "tee-stderr": capture stdout and copy it to our stderr (stdout is reserved for results). */
export type OutputMode = "inherit" | "capture" | "tee" | "tee-stderr" | "null";

/** Options for {@linkcode spawnProcess} and {@linkcode execProcess}. */
export interface ExecOptions {
  cwd?: string;
  /** Extra environment (merged over ours). */
  env?: Record<string, string>;
  stdin?: "null" | "inherit";
  stdout?: OutputMode;
  stderr?: OutputMode;
  signal?: AbortSignal;
  /** Grace period between SIGTERM and SIGKILL when stopped or aborted (ms). */
  killGraceMs?: number;
}

/** What a finished child leaves behind. */
export interface ExecResult {
  code: number;
  /** Captured stdout (only with `stdout: "capture"`). */
  stdout: string;
  /** The last lines of stderr (with `capture` or `tee`). */
  stderrTail: string;
}

/** A running child. `status` always settles; `stop()` terminates and reaps it. */
export interface RunningProcess {
  readonly pid: number;
  readonly status: Promise<ExecResult>;
  /** SIGTERM (or `signal`), then SIGKILL after the grace period; resolves when reaped. */
  stop(signal?: Deno.Signal): Promise<ExecResult>;
}

/** Spawns processes; the seam tests replace with a fake. */
export type Spawn = (
  command: string,
  args: readonly string[],
  options?: ExecOptions,
) => RunningProcess;

const TAIL_BYTES = 8192;

/** Keeps the last {@linkcode TAIL_BYTES} of a stream, optionally echoing it. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  echo: ((chunk: Uint8Array) => Promise<unknown>) | null,
  keepAll: boolean,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    if (echo) await echo(chunk).catch(() => {});
    text += decoder.decode(chunk, { stream: true });
    if (!keepAll && text.length > TAIL_BYTES * 2) text = text.slice(-TAIL_BYTES);
  }
  text += decoder.decode();
  return keepAll ? text : text.slice(-TAIL_BYTES);
}

function denoMode(mode: OutputMode | undefined): "inherit" | "piped" | "null" {
  if (mode === "inherit") return "inherit";
  if (mode === "null") return "null";
  return "piped";
}

/** Starts `command args...`. Throws Deno.errors.NotFound when the program does not exist. */
export const spawnProcess: Spawn = (command, args, options = {}) => {
  const stdoutMode = options.stdout ?? "capture";
  const stderrMode = options.stderr ?? "capture";
  const child = new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin ?? "null",
    stdout: denoMode(stdoutMode),
    stderr: denoMode(stderrMode),
  }).spawn();
  const writeErr = (c: Uint8Array) => Deno.stderr.write(c);
  const writeOut = (c: Uint8Array) => Deno.stdout.write(c);
  const stdoutP = stdoutMode !== "inherit" && stdoutMode !== "null"
    ? drain(
      child.stdout,
      stdoutMode === "tee" ? writeOut : stdoutMode === "tee-stderr" ? writeErr : null,
      stdoutMode === "capture",
    )
    : Promise.resolve("");
  const stderrP = stderrMode !== "inherit" && stderrMode !== "null"
    ? drain(child.stderr, stderrMode === "tee" ? writeErr : null, false)
    : Promise.resolve("");

  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => void stop();
  const status = (async (): Promise<ExecResult> => {
    const [st, stdout, stderrTail] = await Promise.all([child.status, stdoutP, stderrP]);
    if (killTimer !== undefined) clearTimeout(killTimer);
    options.signal?.removeEventListener("abort", onAbort);
    return { code: st.signal ? 128 + signalNumber(st.signal) : st.code, stdout, stderrTail };
  })();

  const grace = options.killGraceMs ?? 5000;
  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<ExecResult> => {
    try {
      child.kill(signal);
    } catch { /* already exited */ }
    if (killTimer === undefined) {
      killTimer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
      }, grace);
    }
    return status;
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  return { pid: child.pid, status, stop };
};

function signalNumber(signal: Deno.Signal): number {
  const table: Partial<Record<Deno.Signal, number>> = {
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGHUP: 1,
  };
  return table[signal] ?? 1;
}

/** Runs to completion and returns the result (stdout captured unless told otherwise). */
export function execProcess(
  spawn: Spawn,
  command: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return spawn(command, args, options).status;
}
