// The life of one prediction, owned in one place. Every status change of a
// Prediction happens here, and the end is reached only through #settle(),
// which does, exactly once: abort what is still in flight (downloads, output
// reads, uploads), tell the worker to stop if it still runs the prediction,
// give the slot back (before the waiting request is answered), set the
// terminal status (that answers the waiting request and queues the terminal
// webhook / SSE event), and remove the prediction's files once nothing uses
// them.
//
//   queued ──start(permit)──► preparing ──inputs staged──► running
//     │                          │                            │ worker: done/failed/canceled
//     │                          │                            ▼
//     │                          │                        finishing (outputs still resolving)
//     └──────────────┬───────────┴──────────────┬─────────────┘
//                    ▼                          ▼
//                 settled  (succeeded | failed | canceled), sticky
//
// Cancel in each phase: queued, preparing and finishing settle as canceled at
// once (in-flight I/O aborted); running aborts in-flight I/O and interrupts
// the worker, and settles when the worker confirms (or at once when an
// output upload it was waiting on is aborted). The slot is given back when
// the prediction is settled AND the worker no longer runs it.

import type { Json } from "../schema/mod.ts";
import type { PredictionMessage } from "../worker/mod.ts";
import type { FileOptions } from "./files.ts";
import { InputFileError } from "./files.ts";
import { type FileField, stageInputs } from "./inputs.ts";
import { type OutputFile, resolveOutputs } from "./outputs.ts";
import type { Prediction } from "./prediction.ts";
import type { SlotPermit } from "./slots.ts";

/**
 * The reason in-flight I/O is aborted with: one shared value, because abort()
 * without a reason builds a DOMException with a stack trace every time.
 */
const CANCELED = new DOMException("the prediction ended", "AbortError");

/** Where a prediction is in its life. */
export type Phase = "queued" | "preparing" | "running" | "finishing" | "settled";

/** Who asked for a cancel (for the log). */
export type CancelSource =
  | "request"
  | "client_gone"
  | "subscribers_gone"
  | "shutdown";

/** How a prediction ends. */
export type Outcome =
  | { status: "succeeded"; isStream: boolean }
  | { status: "failed"; error: string }
  | { status: "canceled" };

/** The worker side a lifecycle drives (a Runtime). */
export interface PredictionRunner {
  /** File-typed inputs of the current signature. */
  fileInputs(): readonly FileField[];
  /** Sends the prediction to the worker. */
  send(message: {
    id: string;
    input: Record<string, Json>;
    context: Record<string, string>;
    output_dir: string;
  }): void;
  /** Asks the worker to stop running a prediction. */
  interrupt(id: string): void;
}

/** Logger seam (the service's). */
export type LifecycleLogger = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** What a lifecycle needs. */
export interface LifecycleOptions {
  runner: PredictionRunner;
  /** The prediction's own directory (inputs, outputs, kept files). */
  dir: string;
  files: FileOptions;
  now: () => Date;
  log: LifecycleLogger;
  /** Runs once, right after the prediction settled. */
  onSettled: (lifecycle: PredictionLifecycle) => void;
}

/** One prediction's state machine (see the file header). */
export class PredictionLifecycle {
  readonly prediction: Prediction;
  #options: LifecycleOptions;
  #phase: Phase = "queued";
  #permit: SlotPermit | null = null;
  /** The worker was sent the prediction and has not answered with a terminal message. */
  #workerHas = false;
  #cancelRequested = false;
  /** Created on first use: aborting it stops downloads, output reads and uploads. */
  #abort: AbortController | null = null;
  /** I/O still running for this prediction (downloads, reads, uploads). */
  #inFlight = new Set<Promise<unknown>>();
  /** Files were written under the directory. */
  #touched = false;
  /** Worker message steps, in order (see #enqueue). */
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(prediction: Prediction, options: LifecycleOptions) {
    this.prediction = prediction;
    this.#options = options;
  }

  /** The current phase. */
  get phase(): Phase {
    return this.#phase;
  }

  /** True once settled. */
  get settled(): boolean {
    return this.#phase === "settled";
  }

  /** True while the prediction holds a slot. */
  get holdsSlot(): boolean {
    return this.#permit !== null && !this.#permit.released;
  }

  /** True while the worker runs the prediction. */
  get workerHas(): boolean {
    return this.#workerHas;
  }

  /** Downloads, reads and uploads still running. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** queued -> preparing: the slot is taken; inputs are staged, then the worker gets it. */
  start(permit: SlotPermit): void {
    if (this.#phase !== "queued") {
      permit.release();
      return;
    }
    this.#permit = permit;
    this.#phase = "preparing";
    this.prediction.toProcessing(this.#options.now());
    let staged: Promise<Record<string, Json>> | null;
    try {
      staged = stageInputs(this.prediction.input, this.#options.runner.fileInputs(), {
        dir: this.#options.dir,
        files: this.#options.files,
        signal: () => this.#signal(),
      });
    } catch (error) {
      this.#failPreparing(error);
      return;
    }
    if (staged === null) {
      this.#dispatch(this.prediction.input);
      return;
    }
    this.#touched = true;
    this.#track(staged).then((input) => this.#dispatch(input), (e) => this.#failPreparing(e));
  }

  #dispatch(input: Record<string, Json>): void {
    if (this.#phase !== "preparing") return;
    this.#phase = "running";
    this.#workerHas = true;
    this.#options.runner.send({
      id: this.prediction.id,
      input,
      context: this.prediction.context,
      // The worker creates it if it writes a file there.
      output_dir: `${this.#options.dir}/out`,
    });
  }

  #failPreparing(error: unknown): void {
    if (this.#cancelRequested || this.settled) {
      this.#settle({ status: "canceled" });
      return;
    }
    const message = error instanceof InputFileError
      ? `Input validation error: ${error.message}`
      : `Failed to prepare inputs: ${error instanceof Error ? error.message : String(error)}`;
    this.#settle({ status: "failed", error: message });
  }

  /**
   * Cancels the prediction, whatever its phase. Returns false when it had
   * already settled (nothing changes).
   */
  cancel(source: CancelSource): boolean {
    if (this.settled) return false;
    if (!this.#cancelRequested) {
      this.#options.log("info", `canceling ${this.prediction.id} (${source})`, {
        prediction_id: this.prediction.id,
      });
    }
    this.#cancelRequested = true;
    if (this.#phase === "running") {
      // The worker confirms (its terminal message settles it); meanwhile nothing
      // may keep waiting on I/O for a prediction nobody wants.
      this.#abort?.abort(CANCELED);
      this.#options.runner.interrupt(this.prediction.id);
      return true;
    }
    this.#settle({ status: "canceled" });
    return true;
  }

  /**
   * Ends the prediction as failed now, whatever the worker does (shutdown gave
   * up waiting). The slot comes back when the worker stops.
   */
  abandon(error: string): void {
    this.#settle({ status: "failed", error });
  }

  /** The worker running this prediction died. */
  workerLost(reason: string): void {
    this.#workerHas = false;
    this.#releaseIfDone();
    this.#enqueue(() => {
      this.#settle(
        this.#cancelRequested ? { status: "canceled" } : { status: "failed", error: reason },
      );
    });
  }

  /** A message from the worker about this prediction. */
  onWorkerMessage(message: PredictionMessage): void {
    const prediction = this.prediction;
    switch (message.type) {
      case "log":
        // Logs go to the server log at once, whatever is pending.
        this.#options.log("info", message.data.replace(/\n$/, ""), {
          prediction_id: prediction.id,
        });
        this.#enqueue(() => prediction.appendLog(message.source, message.data));
        return;
      case "metric":
        this.#enqueue(() => prediction.recordMetric(message.name, message.value, message.mode));
        return;
      case "output":
        if (message.files.length > 0) this.#touched = true;
        this.#enqueue(() => this.#addOutput(message.value, message.files));
        return;
      case "started":
        return;
      case "done":
      case "failed":
      case "canceled": {
        // The worker is free of it now, even if earlier outputs are still resolving.
        this.#workerHas = false;
        if (this.#phase === "running" && this.#pending > 0) this.#phase = "finishing";
        this.#releaseIfDone();
        const outcome: Outcome = message.type === "done"
          ? { status: "succeeded", isStream: message.is_stream }
          : message.type === "failed" && !this.#cancelRequested
          ? { status: "failed", error: message.error }
          : { status: "canceled" };
        this.#enqueue(() => this.#settle(outcome));
        return;
      }
    }
  }

  #addOutput(value: Json, files: readonly OutputFile[]): void | Promise<void> {
    if (this.settled) return;
    if (files.length === 0) {
      this.prediction.addOutput(value);
      return;
    }
    const resolved = resolveOutputs(value, files, {
      predictionId: this.prediction.id,
      keepDir: `${this.#options.dir}/keep`,
      files: this.#options.files,
      signal: this.#signal(),
    });
    return this.#track(resolved).then(
      (output) => {
        if (!this.settled) this.prediction.addOutput(output);
      },
      (error) => {
        if (this.#cancelRequested || this.settled) {
          this.#settle({ status: "canceled" });
          return;
        }
        this.#settle({
          status: "failed",
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
  }

  /**
   * Runs worker message steps strictly in order. A step runs at once when
   * nothing is pending (the common case: no promise hop per message); after
   * an asynchronous step (output files) later steps wait their turn.
   */
  #enqueue(step: () => void | Promise<void>): void {
    const report = (error: unknown) =>
      this.#options.log("error", `internal error handling a worker message: ${error}`);
    const done = () => this.#pending--;
    if (this.#pending === 0) {
      let result: void | Promise<void>;
      try {
        result = step();
      } catch (error) {
        report(error);
        return;
      }
      if (!result) return;
      this.#pending++;
      this.#chain = result.catch(report).finally(done);
      return;
    }
    this.#pending++;
    this.#chain = this.#chain.then(step).catch(report).finally(done);
  }

  #signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** The slot comes back once the prediction settled and the worker is free of it. */
  #releaseIfDone(): void {
    if (this.settled && !this.#workerHas) this.#permit?.release();
  }

  /** The one way to a terminal state (see the file header). */
  #settle(outcome: Outcome): void {
    if (this.settled) return;
    this.#phase = "settled";
    this.#abort?.abort(CANCELED);
    if (this.#workerHas) this.#options.runner.interrupt(this.prediction.id);
    this.#releaseIfDone(); // before the waiting request is answered: no spurious 409 next
    const now = this.#options.now();
    const prediction = this.prediction;
    switch (outcome.status) {
      case "succeeded":
        prediction.toSucceeded(outcome.isStream, now);
        break;
      case "failed":
        prediction.toFailed(outcome.error, now);
        break;
      case "canceled":
        prediction.toCanceled(now);
        break;
    }
    if (this.#touched) this.#removeFilesWhenUnused();
    this.#options.onSettled(this);
  }

  async #removeFilesWhenUnused(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    await this.prediction.whenReleased();
    await Deno.remove(this.#options.dir, { recursive: true }).catch(() => {});
  }
}
