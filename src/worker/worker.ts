// The TS side of the Python worker: spawn it, decode its messages, send it
// requests, and report how it ended. No prediction logic lives here.

import {
  type ChildExit,
  forEachLine,
  killLeftovers,
  newProcessToken,
  PROCESS_TOKEN_ENV,
  readLines,
  spawnChild,
  TextTail,
} from "../process/mod.ts";
import {
  decodeWorkerMessage,
  type DeliveredMessage,
  encodeServerMessage,
  ProtocolError,
  type ReloadAnswer,
  type ServerMessageBody,
  splitDone,
  type WorkerMessage,
} from "./protocol.ts";
import { resolvePythonDir } from "./python_dir.ts";

const encoder = new TextEncoder();
/** Reused write buffer size (a UTF-16 unit is at most 3 UTF-8 bytes). */
const SCRATCH_BYTES = 1 << 16;
/** How long a `reload` may take (it runs the new class body) before setup() runs instead. */
const RELOAD_TIMEOUT_MS = 30_000;

/** How to start a worker. */
export interface WorkerSpawnOptions {
  /** Project root (the directory with cog.yaml); the worker's cwd. */
  cwd: string;
  /** Predictor reference, e.g. "predict.py:Predictor". */
  ref: string;
  mode: "predict" | "train";
  concurrency: number;
  /** Python executable (default: $COG_PYTHON or "python3"). */
  python?: string;
  /** Extra environment for the worker (cog.yaml `environment:`, -e). */
  env?: Record<string, string>;
  /** Only load and describe the predictor; do not run setup(). */
  signatureOnly?: boolean;
}

/** Something the worker did: a protocol message, or its end (`reload` answers go to `reload()`). */
export type WorkerEvent =
  | Exclude<DeliveredMessage, ReloadAnswer>
  | { type: "exit"; exit: ChildExit; stderrTail: string; reason: string | null };

/** A running worker. */
export interface WorkerHandle {
  readonly pid: number;
  /** Sends one message; silently dropped once the worker is gone. */
  send(message: ServerMessageBody): void;
  /** Asks the worker to shut down; SIGKILL after `graceMs`. Resolves once reaped. */
  shutdown(graceMs?: number): Promise<void>;
  /** Kills the worker at once (SIGKILL). */
  kill(): void;
  /**
   * Asks the worker to swap the predictor's code in place, keeping setup()'s state
   * (--watch). Resolves with `reloaded` (new predictor and signature) or with
   * `reload_refused` and the reason (then setup() must run again in a new worker).
   */
  reload?(): Promise<ReloadAnswer>;
  /** Resolves once the worker exited and every event was delivered. */
  readonly exited: Promise<void>;
}

/** Starts a worker and delivers its events, in order, to `onEvent`. */
export type WorkerSpawner = (
  options: WorkerSpawnOptions,
  onEvent: (event: WorkerEvent) => void,
) => WorkerHandle;

/** Receives the worker's own diagnostics (its real stderr: faulthandler, crashes). */
export type DiagnosticsSink = (line: string) => void;

/** The real spawner: `python3 -u -X faulthandler -m cog._worker ...`. */
export function createPythonWorkerSpawner(diagnostics: DiagnosticsSink = () => {}): WorkerSpawner {
  return (options, onEvent) => spawnPythonWorker(options, onEvent, diagnostics);
}

function spawnPythonWorker(
  options: WorkerSpawnOptions,
  onEvent: (event: WorkerEvent) => void,
  diagnostics: DiagnosticsSink,
): WorkerHandle {
  const python = options.python ?? Deno.env.get("COG_PYTHON") ?? "python3";
  const pythonDir = resolvePythonDir();
  const inherited = Deno.env.get("PYTHONPATH");
  const args = [
    "-u",
    "-X",
    "faulthandler",
    "-m",
    "cog._worker",
    "--ref",
    options.ref,
    "--mode",
    options.mode,
    "--concurrency",
    String(options.concurrency),
  ];
  if (options.signatureOnly) args.push("--signature-only");
  // Everything the model starts inherits the token: after the worker exits (any way),
  // whatever still carries it is killed (killLeftovers). Its own session keeps a Ctrl+C
  // or SIGTERM sent to our process group away from it: the server shuts it down itself.
  const token = newProcessToken();
  const child = spawnChild(python, args, {
    cwd: options.cwd,
    env: {
      ...options.env,
      PYTHONPATH: inherited ? `${pythonDir}:${inherited}` : pythonDir,
      PYTHONUNBUFFERED: "1",
      PYTHONDONTWRITEBYTECODE: "1",
      [PROCESS_TOKEN_ENV]: token,
    },
    stdin: "piped",
    newSession: true,
  });
  const stdin = child.stdin.getWriter();
  let writable = true;
  // The pending reload() (one at a time), answered by the worker (same id) or by its exit.
  let reloading: { id: string; resolve: (answer: ReloadAnswer) => void } | null = null;
  let reloads = 0;
  const answerReload = (answer: ReloadAnswer) => {
    if (reloading?.id === answer.id) reloading.resolve(answer);
  };
  const refuseReload = (reason: string) => {
    if (reloading) answerReload({ v: 1, type: "reload_refused", id: reloading.id, reason });
  };
  let writes = Promise.resolve();
  let fatalReason: string | null = null;
  const tail = new TextTail(16384);

  const readStdout = (async () => {
    try {
      // All the messages of one read are handled in one go (no promise per line).
      await forEachLine(child.stdout, (line) => {
        if (line.length === 0) return;
        let message: WorkerMessage;
        try {
          message = decodeWorkerMessage(line);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          // A corrupt stream cannot be trusted: stop this worker.
          fatalReason = `the worker sent an invalid message (${error.message})`;
          child.kill("SIGKILL");
          return false;
        }
        if (message.type === "fatal") fatalReason = message.reason;
        if (message.type === "reloaded" || message.type === "reload_refused") {
          answerReload(message);
          return;
        }
        const split = splitDone(message);
        if (split === null) onEvent(message);
        else for (const part of split) onEvent(part);
      });
    } catch {
      // stdout closed abruptly: the exit status says what happened
    }
  })();
  const readStderr = (async () => {
    try {
      for await (const line of readLines(child.stderr)) {
        tail.push(line + "\n");
        diagnostics(line);
      }
    } catch {
      // ignore
    }
  })();

  const exited = (async () => {
    const exit = await child.exited;
    writable = false;
    await killLeftovers({ token, processGroup: child.pid }).catch(() => {});
    await Promise.allSettled([readStdout, readStderr]);
    refuseReload("the worker exited");
    stdin.close().catch(() => {});
    onEvent({ type: "exit", exit, stderrTail: tail.toString(), reason: fatalReason });
  })();

  // Lines sent while a write is queued or in flight go out together in the next write
  // (one WritableStream write, ~15 us, per batch instead of per message).
  let pending: string[] = [];
  // Writes are chained, so the previous one is done with this buffer when the next
  // flush runs: most batches need no new (GC-tracked, external) buffer of their own.
  const scratch = new Uint8Array(SCRATCH_BYTES);
  function flush(): Promise<void> {
    const batch = pending.length === 1 ? pending[0] : pending.join("");
    pending = [];
    if (batch.length * 3 > SCRATCH_BYTES) return stdin.write(encoder.encode(batch));
    const { written } = encoder.encodeInto(batch, scratch);
    return stdin.write(scratch.subarray(0, written));
  }
  function send(message: ServerMessageBody): void {
    if (!writable) return;
    pending.push(encodeServerMessage(message));
    if (pending.length > 1) return; // a flush is already queued and will take this line
    writes = writes.then(flush).catch(() => {
      writable = false;
      pending = [];
    });
  }

  return {
    pid: child.pid,
    send,
    exited,
    kill: () => child.kill("SIGKILL"),
    reload() {
      refuseReload("another reload was asked for");
      const id = `reload_${++reloads}`;
      return new Promise<ReloadAnswer>((resolve) => {
        const timer = setTimeout(
          () => answerReload({ v: 1, type: "reload_refused", id, reason: "no answer in time" }),
          RELOAD_TIMEOUT_MS,
        );
        reloading = {
          id,
          resolve: (answer) => {
            clearTimeout(timer);
            reloading = null;
            resolve(answer);
          },
        };
        send({ type: "reload", id });
      });
    },
    async shutdown(graceMs = 10_000) {
      send({ type: "shutdown" });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child.kill("SIGTERM");
          timer = setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, 2000);
        }, graceMs);
      });
      await Promise.race([exited, late]);
      clearTimeout(timer);
      await exited;
    },
  };
}
