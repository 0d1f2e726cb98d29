// One Python worker and everything known about it: its setup state and logs,
// the predictor's signature with the validator and OpenAPI parts derived from
// it, its prediction slots (a SlotPool), health checks, and restart after a
// crash. It never restarts once shutdown began.

import {
  createInputValidator,
  fileInputs,
  type InputValidator,
  type PredictorInfo,
  secretInputs,
  type Signature,
} from "../schema/mod.ts";
import type {
  PredictionMessage,
  WorkerEvent,
  WorkerHandle,
  WorkerSpawner,
  WorkerSpawnOptions,
} from "../worker/mod.ts";
import type { PredictionRunner } from "./lifecycle.ts";
import { SlotPool } from "./slots.ts";

/** Lifecycle of a runtime (the worker behind /predictions or /trainings). */
export type RuntimeState = "starting" | "ready" | "setup_failed" | "defunct" | "stopped";

/** The setup record shown in /health-check. */
export interface SetupRecord {
  started_at: string;
  completed_at?: string;
  status: "starting" | "succeeded" | "failed";
  logs?: string;
}

/** What a runtime needs from its owner. */
export interface RuntimeHooks {
  /** A message about one prediction (log/output/metric/terminal). */
  onPredictionMessage(runtime: Runtime, event: PredictionMessage): void;
  /** The worker died: every prediction it was running must fail with `reason`. */
  onWorkerLost(runtime: Runtime, reason: string): void;
  /** State changed (ready, setup failed, a slot freed, ...). */
  onStateChange(runtime: Runtime): void;
  /** Setup finished (for metrics): its duration and whether it succeeded. */
  onSetupFinished?(runtime: Runtime, seconds: number, ok: boolean): void;
  /** The worker is being restarted after a crash (for metrics). */
  onRestart?(runtime: Runtime): void;
  log(level: "info" | "warn" | "error", message: string): void;
  now(): Date;
}

/** Settings of a runtime. */
export interface RuntimeOptions {
  kind: "prediction" | "training";
  spawn: WorkerSpawner;
  worker: Omit<WorkerSpawnOptions, "concurrency" | "mode">;
  /** Slots from COG_MAX_CONCURRENCY / cog.yaml; null = the decorator's value or 1. */
  concurrency: number | null;
  /** COG_SETUP_TIMEOUT in ms; null = none. */
  setupTimeoutMs: number | null;
  /** Path/File inputs may be local paths, not only URLs (COG_ALLOW_LOCAL_FILE_INPUTS). */
  allowLocalFileInputs?: boolean;
  /** Restarts allowed within `restartWindowMs` before giving up (DEFUNCT). */
  maxRestarts: number;
  restartWindowMs: number;
}

const HEALTHCHECK_TIMEOUT_MS = 10_000;

/** A worker process and its predictor. */
export class Runtime implements PredictionRunner {
  readonly kind: "prediction" | "training";
  /** The prediction slots; a freed slot is a state change (the queue moves). */
  readonly slotPool: SlotPool;
  #options: RuntimeOptions;
  #hooks: RuntimeHooks;
  #state: RuntimeState = "starting";
  #setup: SetupRecord;
  #setupLogs: string[] = [];
  #worker: WorkerHandle | null = null;
  #predictor: PredictorInfo | null = null;
  #signature: Signature | null = null;
  // Asked for on every prediction: computed with the signature, in #onReady.
  #fileInputs: ReturnType<typeof fileInputs> = [];
  #secretInputs: string[] = [];
  #validator: InputValidator | null = null;
  #healthchecks = new Map<string, (result: { ok: boolean; error?: string }) => void>();
  #sharedHealthcheck: Promise<{ ok: boolean; error?: string }> | null = null;
  #hcCounter = 0;
  #restarts: number[] = [];
  #setupTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping = false;
  #defunctReason: string | null = null;
  #generation = 0;
  #reloads = 0;
  /** The current setup is a restart after a crash (a failure then means DEFUNCT). */
  #crashRestart = false;

  constructor(options: RuntimeOptions, hooks: RuntimeHooks) {
    this.kind = options.kind;
    this.#options = options;
    this.#hooks = hooks;
    this.#setup = { started_at: hooks.now().toISOString(), status: "starting" };
    this.slotPool = new SlotPool(1, () => hooks.onStateChange(this));
  }

  get state(): RuntimeState {
    return this.#state;
  }

  get setup(): SetupRecord {
    const logs = this.#setupLogs.join("");
    return logs ? { ...this.#setup, logs } : { ...this.#setup };
  }

  get predictor(): PredictorInfo | null {
    return this.#predictor;
  }

  get signature(): Signature | null {
    return this.#signature;
  }

  get validator(): InputValidator | null {
    return this.#validator;
  }

  /** Prediction slots. */
  get slots(): number {
    return this.slotPool.capacity;
  }

  /** Slots in use. */
  get active(): number {
    return this.slotPool.active;
  }

  /** True once shutdown began: the worker is never restarted again. */
  get stopping(): boolean {
    return this.#stopping;
  }

  get defunctReason(): string | null {
    return this.#defunctReason;
  }

  /** File-typed inputs (downloaded by the server). */
  fileInputs(): ReturnType<typeof fileInputs> {
    return this.#fileInputs;
  }

  /** Secret-typed inputs (masked when echoed). */
  secretInputs(): string[] {
    return this.#secretInputs;
  }

  /** Spawns the worker and runs setup. */
  start(): void {
    this.#generation++;
    const generation = this.#generation;
    this.#state = "starting";
    this.#setup = { started_at: this.#hooks.now().toISOString(), status: "starting" };
    this.#setupLogs = [];
    this.#predictor = null;
    const concurrency = this.#options.concurrency ?? 0;
    this.#worker = this.#options.spawn(
      {
        ...this.#options.worker,
        mode: this.kind === "training" ? "train" : "predict",
        concurrency,
      },
      (event) => {
        if (generation === this.#generation) this.#onEvent(event);
      },
    );
    if (this.#options.setupTimeoutMs !== null) {
      this.#setupTimer = setTimeout(() => {
        if (this.#state !== "starting" || generation !== this.#generation) return;
        const seconds = this.#options.setupTimeoutMs! / 1000;
        this.#failSetup(`setup timed out after ${seconds} seconds (COG_SETUP_TIMEOUT)`);
        this.#worker?.kill();
      }, this.#options.setupTimeoutMs);
    }
    this.#hooks.onStateChange(this);
  }

  #setupSeconds(): number {
    return (this.#hooks.now().getTime() - Date.parse(this.#setup.started_at)) / 1000;
  }

  #failSetup(error: string): void {
    this.#hooks.onSetupFinished?.(this, this.#setupSeconds(), false);
    clearTimeout(this.#setupTimer);
    this.#state = "setup_failed";
    if (this.#crashRestart) {
      // a restart after a crash that cannot set up again will not recover
      this.#state = "defunct";
      this.#defunctReason = `the worker crashed and setup failed when it restarted: ${error}`;
    }
    this.#setup.status = "failed";
    this.#setup.completed_at = this.#hooks.now().toISOString();
    const logs = this.#setupLogs.join("");
    if (!logs.includes(error)) {
      this.#setupLogs.push((logs && !logs.endsWith("\n") ? "\n" : "") + error + "\n");
    }
    this.#hooks.log("error", `setup failed: ${error}`);
    this.#hooks.onStateChange(this);
  }

  #onEvent(event: WorkerEvent): void {
    switch (event.type) {
      case "hello":
        this.#hooks.log("info", `worker started (pid ${event.pid}, Python ${event.python})`);
        if (event.protocol !== 1) {
          this.#failSetup(`the worker speaks protocol ${event.protocol}; this server speaks 1`);
          this.#worker?.kill();
        }
        return;
      case "log":
        if (event.id !== null) {
          this.#hooks.onPredictionMessage(this, { ...event, id: event.id });
          return;
        }
        if (this.#state === "starting") this.#setupLogs.push(event.data);
        this.#hooks.log("info", event.data.replace(/\n$/, ""));
        return;
      case "ready":
        this.#onReady(event.predictor, event.signature);
        return;
      case "setup_failed":
        if (this.#state === "starting") this.#failSetup(event.error);
        return;
      case "healthcheck_result": {
        const resolve = this.#healthchecks.get(event.id);
        this.#healthchecks.delete(event.id);
        resolve?.({ ok: event.status === "healthy", error: event.error });
        return;
      }
      case "fatal":
        this.#hooks.log("error", `worker fatal: ${event.reason}`);
        return;
      case "exit":
        this.#onExit(event);
        return;
      default:
        this.#hooks.onPredictionMessage(this, event);
    }
  }

  #onReady(predictor: PredictorInfo, signature: Signature): void {
    clearTimeout(this.#setupTimer);
    if (this.#state !== "starting") return;
    try {
      this.#validator = createInputValidator(signature, {
        allowLocalFiles: this.#options.allowLocalFileInputs,
      });
    } catch (error) {
      this.#failSetup(error instanceof Error ? error.message : String(error));
      return;
    }
    this.#predictor = predictor;
    this.#signature = signature;
    this.#fileInputs = fileInputs(signature);
    this.#secretInputs = secretInputs(signature);
    const slots = this.#options.concurrency ?? predictor.concurrent_max ?? 1;
    this.slotPool.capacity = slots;
    if (slots > 1 && !predictor.is_async) {
      this.#failSetup("COG_MAX_CONCURRENCY > 1 requires an async run() or predict() method");
      return;
    }
    this.#state = "ready";
    this.#crashRestart = false;
    this.#setup.status = "succeeded";
    this.#setup.completed_at = this.#hooks.now().toISOString();
    this.#hooks.log("info", `setup complete; ${slots} slot(s) for ${this.kind}s`);
    this.#hooks.onSetupFinished?.(this, this.#setupSeconds(), true);
    this.#hooks.onStateChange(this);
  }

  #onExit(event: Extract<WorkerEvent, { type: "exit" }>): void {
    clearTimeout(this.#setupTimer);
    this.#worker = null;
    for (const resolve of this.#healthchecks.values()) {
      resolve({ ok: false, error: "Healthcheck failed: the worker exited" });
    }
    this.#healthchecks.clear();
    const how = event.exit.signal
      ? `killed by ${event.exit.signal}`
      : `exited with code ${event.exit.code}`;
    const detail = event.reason ? `: ${event.reason}` : "";
    const tail = event.stderrTail.trim().split("\n").slice(-5).join("\n");
    const reason = `Worker crashed (${how}${detail})${tail ? `\n${tail}` : ""}`;
    if (this.#stopping) {
      // Shutdown: whatever ended the worker, it is not restarted.
      this.#state = "stopped";
      if (this.slotPool.active > 0) {
        this.#hooks.onWorkerLost(this, `The worker exited during shutdown (${how})`);
      }
      this.#hooks.onStateChange(this);
      return;
    }
    if (this.#state === "starting") {
      this.#failSetup(`the worker ${how} during setup${detail}${tail ? `\n${tail}` : ""}`);
      return;
    }
    if (this.#state === "setup_failed" || this.#state === "defunct") return;
    this.#hooks.log("error", reason);
    const now = this.#hooks.now().getTime();
    this.#restarts = this.#restarts.filter((t) => now - t < this.#options.restartWindowMs);
    const giveUp = this.#restarts.length >= this.#options.maxRestarts;
    // Not ready while the lost predictions settle: a slot they free must not start a queued one.
    this.#state = giveUp ? "defunct" : "starting";
    if (this.slotPool.active > 0) this.#hooks.onWorkerLost(this, reason);
    if (giveUp) {
      this.#defunctReason = reason;
      this.#hooks.log("error", "the worker keeps crashing; giving up (DEFUNCT)");
      this.#hooks.onStateChange(this);
      return;
    }
    this.#restarts.push(now);
    this.#hooks.onRestart?.(this);
    this.#hooks.log("warn", "restarting the worker and running setup() again");
    this.#crashRestart = true;
    this.start();
  }

  /** True if a slot is free. */
  hasFreeSlot(): boolean {
    return this.#state === "ready" && this.slotPool.hasFree;
  }

  /** Sends a prediction (which holds a slot) to the worker. */
  send(message: {
    id: string;
    input: Record<string, unknown>;
    context: Record<string, string>;
    output_dir: string;
  }): void {
    this.#worker?.send({
      type: "predict",
      id: message.id,
      input: message.input as Record<string, never>,
      context: message.context,
      output_dir: message.output_dir,
    });
  }

  /** Asks the worker to stop running a prediction (the protocol's `cancel`). */
  interrupt(id: string): void {
    this.#worker?.send({ type: "cancel", id });
  }

  /** Shutdown began: from now on the worker is never restarted, nor reloaded. */
  beginShutdown(): void {
    this.#stopping = true;
  }

  /** Runs the user's healthcheck(); concurrent callers share one run. */
  healthcheck(): Promise<{ ok: boolean; error?: string }> {
    if (!this.#predictor?.has_healthcheck || !this.#worker) return Promise.resolve({ ok: true });
    if (this.#sharedHealthcheck) return this.#sharedHealthcheck;
    const id = `hc_${++this.#hcCounter}`;
    const worker = this.#worker;
    this.#sharedHealthcheck = new Promise<{ ok: boolean; error?: string }>((resolve) => {
      const timer = setTimeout(() => {
        this.#healthchecks.delete(id);
        resolve({ ok: false, error: "healthcheck timed out" });
      }, HEALTHCHECK_TIMEOUT_MS);
      this.#healthchecks.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      worker.send({ type: "healthcheck", id });
    }).finally(() => {
      this.#sharedHealthcheck = null;
    });
    return this.#sharedHealthcheck;
  }

  /** Stops the worker (shutdown message, then signals). */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#setupTimer);
    const worker = this.#worker;
    if (worker) await worker.shutdown(graceMs);
    this.#state = "stopped";
  }

  /**
   * Hot reload: stop taking predictions (health STARTING), wait for the ones
   * running to finish, then let the worker swap the predictor's code in place,
   * keeping setup()'s state, when setup() and what it depends on are unchanged
   * (the worker decides, python/cog/_reload.py); otherwise replace the worker
   * and run setup() again. `ref` changes the predictor reference (cog.yaml
   * edited): always a new worker.
   */
  async reload(ref?: string): Promise<void> {
    if (this.#stopping) return;
    if (ref) this.#options.worker = { ...this.#options.worker, ref };
    const token = ++this.#reloads;
    // Only a worker whose setup() succeeded has state worth keeping.
    const inPlace = !ref && this.#predictor !== null;
    this.#crashRestart = false;
    clearTimeout(this.#setupTimer);
    this.#state = "starting";
    this.#setup = { started_at: this.#hooks.now().toISOString(), status: "starting" };
    this.#setupLogs = [];
    this.#hooks.onStateChange(this);
    while (this.slotPool.active > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (token !== this.#reloads || this.#stopping) return;
    }
    const old = this.#worker;
    if (inPlace && old?.reload) {
      const answer = await old.reload();
      if (token !== this.#reloads || this.#stopping) return;
      if (answer.type === "reloaded" && this.#worker === old) {
        this.#hooks.log("info", `reloaded ${answer.predictor.ref} in place: ${answer.reason}`);
        this.#onReady(answer.predictor, answer.signature);
        return;
      }
      if (answer.type === "reload_refused") {
        this.#hooks.log("info", `reloading with setup(): ${answer.reason}`);
      }
    }
    this.#worker = null;
    this.#generation++; // the old worker's exit is not a crash
    if (old) await old.shutdown(5000);
    if (token !== this.#reloads || this.#stopping) return;
    this.#hooks.log("info", "reloading the predictor");
    this.start();
  }

  /** Kills the worker at once (for tests of crash handling, and force-quit). */
  kill(): void {
    this.#worker?.kill();
  }
}
