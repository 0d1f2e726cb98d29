// The prediction service: the face the HTTP layer talks to. It validates
// create requests, makes one PredictionLifecycle per prediction (the only
// owner of its status), admits it to a slot or the queue, routes worker
// messages to it, and drains on shutdown. No HTTP here.
//
// Modules, one job each: lifecycle.ts (a prediction's state machine),
// admission.ts + slots.ts (slots, queue), inputs.ts / outputs.ts (files in
// and out), fanout.ts (webhooks, SSE), health.ts (/health-check), runtime.ts
// (one worker).

import type { Json, Signature } from "../schema/mod.ts";
import { buildOpenApiDocument, isArrayOutput, mergeOpenApiDocuments } from "../schema/mod.ts";
import type { PredictionMessage, WorkerSpawner } from "../worker/mod.ts";
import { Admission } from "./admission.ts";
import { EventFanout, withTimeout } from "./fanout.ts";
import type { FileOptions } from "./files.ts";
import { DEFAULT_HISTORY, type HistoryOptions, PredictionHistory } from "./history.ts";
import { HealthMonitor, type HealthReport, type HealthStatus, type Unavailable } from "./health.ts";
import { type CancelSource, PredictionLifecycle } from "./lifecycle.ts";
import {
  Prediction,
  type RequestMode,
  WEBHOOK_EVENTS,
  type WebhookEventName,
} from "./prediction.ts";
import { Runtime } from "./runtime.ts";
import type { PredictionStream, StreamOptions } from "./sse.ts";
import type { WebhookOptions } from "./webhook.ts";
import { COG_VERSION, SECRET_MASK } from "./wire.ts";

export type { HealthReport, HealthStatus, Unavailable };

/** A create request, after the HTTP layer parsed the body. */
export interface CreateRequest {
  id?: string | null;
  input: Record<string, unknown>;
  webhook?: string | null;
  webhookEvents?: WebhookEventName[];
  context?: Record<string, string>;
  traceHeaders?: Record<string, string>;
}

/** Why a create was refused (each maps to one HTTP answer). */
export type CreateRefusal =
  | { reason: "unavailable"; why: Unavailable }
  | { reason: "busy" }
  | { reason: "invalid"; errors: { loc: (string | number)[]; msg: string; type: string }[] }
  | { reason: "duplicate"; prediction: Prediction }
  | { reason: "not_streaming" }
  | { reason: "no_training" };

/** The outcome of a create. */
export type CreateResult = { ok: true; prediction: Prediction } | ({ ok: false } & CreateRefusal);

/** Receives service events (the /metrics registry). */
export interface ServiceObserver {
  predictionCompleted?(prediction: Prediction): void;
  setupFinished?(kind: "prediction" | "training", seconds: number, ok: boolean): void;
  workerRestarted?(kind: "prediction" | "training"): void;
}

/** Logger seam. */
export type ServiceLogger = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** Everything the service needs, passed in (no singletons). */
export interface ServiceOptions {
  projectDir: string;
  /** Predictor reference for /predictions (run: or predict:), or null. */
  predictRef: string | null;
  /** Trainer reference for /trainings (train:), or null. */
  trainRef: string | null;
  /** "train" runs train() for /predictions too (Cog's --x-mode train). */
  mode: "predict" | "train";
  spawnWorker: WorkerSpawner;
  /** Environment for the worker (cog.yaml environment, -e). */
  workerEnv: Record<string, string>;
  python?: string;
  concurrency: number | null;
  /** Bounded queue for bursts; 0 = Cog's behaviour (409 when busy). */
  queueSize: number;
  setupTimeoutMs: number | null;
  files: FileOptions;
  webhooks: Omit<WebhookOptions, "log">;
  stream: StreamOptions;
  /** Directory for per-prediction input/output files. */
  tmpDir: string;
  log: ServiceLogger;
  now?: () => Date;
  /** Wait for running predictions at shutdown, ms. */
  drainTimeoutMs: number;
  /** File touched on the first READY health check (Kubernetes: /var/run/cog/ready), or null. */
  readyFile?: string | null;
  /** Retention of ended predictions (GET /predictions/{id}); default one hour, 1000 entries. */
  history?: HistoryOptions;
}

/** A live prediction: its lifecycle, the runtime it runs on, its SSE stream. */
interface Live {
  lifecycle: PredictionLifecycle;
  runtime: Runtime;
  stream: PredictionStream | null;
}

/** After a drain timeout, canceled predictions get this long before they are abandoned. */
const CANCEL_GRACE_MS = 5000;

let idCounter = 0;

/** A server-generated id: "pred_" + hex time + counter (unique in this process). */
export function generateId(now: Date): string {
  idCounter = (idCounter + 1) % 0x10000;
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(idCounter);
  return `pred_${nanos.toString(16)}`;
}

/** Owns predictions, slots, health and the workers. */
export class PredictionService {
  #options: ServiceOptions;
  #runtimes: { prediction: Runtime | null; training: Runtime | null };
  #live = new Map<string, Live>();
  #admission: Admission;
  #fanout: EventFanout;
  #health: HealthMonitor;
  #shutdown: Promise<void> | null = null;
  #dirCounter = 0;
  #listeners = new Set<() => void>();
  #observers = new Set<ServiceObserver>();
  /** Every prediction created, running or ended (bounded). */
  readonly history: PredictionHistory;

  constructor(options: ServiceOptions) {
    this.#options = options;
    this.history = new PredictionHistory({
      ...(options.history ?? DEFAULT_HISTORY),
      now: () => this.#now().getTime(),
    });
    this.#admission = new Admission(options.queueSize);
    this.#fanout = new EventFanout({
      webhooks: options.webhooks,
      stream: options.stream,
      log: options.log,
    });
    this.#health = new HealthMonitor({
      runtimes: () => this.#allRuntimes(),
      shuttingDown: () => this.#shutdown !== null,
      queue: () =>
        options.queueSize > 0
          ? { depth: this.#admission.depth, capacity: this.#admission.capacity }
          : null,
    }, { readyFile: options.readyFile, log: options.log });
    const make = (kind: "prediction" | "training", ref: string | null) =>
      ref === null ? null : new Runtime({
        kind,
        spawn: options.spawnWorker,
        worker: { cwd: options.projectDir, ref, env: options.workerEnv, python: options.python },
        concurrency: options.concurrency,
        setupTimeoutMs: options.setupTimeoutMs,
        allowLocalFileInputs: options.files.allowLocalInputs,
        maxRestarts: 3,
        restartWindowMs: 60_000,
      }, {
        onPredictionMessage: (runtime, message) => this.#onWorkerMessage(runtime, message),
        onWorkerLost: (runtime, reason) => this.#onWorkerLost(runtime, reason),
        onStateChange: () => this.#onStateChange(),
        onSetupFinished: (runtime, seconds, ok) => {
          for (const o of this.#observers) o.setupFinished?.(runtime.kind, seconds, ok);
        },
        onRestart: (runtime) => {
          for (const o of this.#observers) o.workerRestarted?.(runtime.kind);
        },
        log: (level, message) => options.log(level, message, { kind }),
        now: () => this.#now(),
      });
    this.#runtimes = options.mode === "train"
      ? { prediction: null, training: make("training", options.trainRef) }
      : {
        prediction: make("prediction", options.predictRef),
        training: make("training", options.trainRef),
      };
  }

  #now(): Date {
    return this.#options.now ? this.#options.now() : new Date();
  }

  /** Starts the workers (setup runs in the background). */
  start(): void {
    this.#runtimes.prediction?.start();
    this.#runtimes.training?.start();
  }

  /** Called whenever health may have changed (tests and /metrics listen). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribes to service events (metrics); returns the unsubscribe function. */
  observe(observer: ServiceObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  #onStateChange(): void {
    this.#admission.pump();
    for (const listener of this.#listeners) listener();
  }

  #runtimeFor(kind: "prediction" | "training"): Runtime | null {
    if (this.#options.mode === "train") return this.#runtimes.training;
    return kind === "training" ? this.#runtimes.training : this.#runtimes.prediction;
  }

  /** Runtimes that exist, predictions first. */
  #allRuntimes(): Runtime[] {
    return [this.#runtimes.prediction, this.#runtimes.training].filter((r): r is Runtime => !!r);
  }

  /** True when a /trainings endpoint exists. */
  get hasTraining(): boolean {
    return this.#runtimes.training !== null;
  }

  /** True if the predictor opted in to SSE (@streaming). */
  get streaming(): boolean {
    return this.#runtimes.prediction?.predictor?.streaming === true;
  }

  /** Predictions in flight (ids). */
  get inFlight(): string[] {
    return [...this.#live.keys()];
  }

  /** Queue depth. */
  get queueDepth(): number {
    return this.#admission.depth;
  }

  /** Slots in use and total, across runtimes. */
  get slotUsage(): { active: number; total: number } {
    let active = 0, total = 0;
    for (const r of this.#allRuntimes()) {
      active += r.active;
      total += r.slots;
    }
    return { active, total };
  }

  /** The in-flight prediction with this id, if any. */
  get(id: string): Prediction | undefined {
    return this.#live.get(id)?.lifecycle.prediction;
  }

  /** The prediction with this id, in flight or ended and retained (GET /predictions/{id}). */
  lookup(id: string): Prediction | undefined {
    return this.#live.get(id)?.lifecycle.prediction ?? this.history.get(id);
  }

  /** The lifecycle of an in-flight prediction (tests and diagnostics). */
  lifecycle(id: string): PredictionLifecycle | undefined {
    return this.#live.get(id)?.lifecycle;
  }

  /** The health status without running the user's healthcheck(). */
  get healthStatus(): HealthStatus {
    return this.#health.status();
  }

  /** The /health-check report (runs the user's healthcheck() when READY/BUSY). */
  health(): Promise<HealthReport> {
    return this.#health.report();
  }

  /** The model's OpenAPI document, once every runtime is ready. */
  openApi(): Record<string, unknown> | null {
    const docs: Record<string, unknown>[] = [];
    for (const runtime of this.#allRuntimes()) {
      if (runtime.state !== "ready" || !runtime.signature || !runtime.predictor) return null;
      docs.push(buildOpenApiDocument(runtime.signature, {
        mode: runtime.kind === "training" ? "train" : "predict",
        streaming: runtime.predictor.streaming,
        version: COG_VERSION,
      }));
    }
    if (docs.length === 0) return null;
    return docs.length === 1 ? docs[0] : mergeOpenApiDocuments(docs[0], docs[1]);
  }

  /** The signature behind /predictions (or /trainings in train mode). */
  signature(kind: "prediction" | "training"): Signature | null {
    return this.#runtimeFor(kind)?.signature ?? null;
  }

  /**
   * Creates a prediction. An id already in flight is refused as `duplicate`
   * with the live prediction (PUT attaches to it; POST answers 409): never run twice.
   */
  create(request: CreateRequest, options: {
    kind: "prediction" | "training";
    mode: RequestMode;
  }): CreateResult {
    if (this.#shutdown) return { ok: false, reason: "unavailable", why: "shutting_down" };
    const runtime = this.#runtimeFor(options.kind);
    if (!runtime) {
      return options.kind === "training"
        ? { ok: false, reason: "no_training" }
        : { ok: false, reason: "unavailable", why: "starting" };
    }
    if (request.id) {
      const existing = this.#live.get(request.id);
      if (existing) {
        return { ok: false, reason: "duplicate", prediction: existing.lifecycle.prediction };
      }
    }
    const unavailable = this.#health.unavailable(runtime);
    if (unavailable) return { ok: false, reason: "unavailable", why: unavailable };
    if (options.mode === "sse" && !runtime.predictor?.streaming) {
      return { ok: false, reason: "not_streaming" };
    }
    const result = runtime.validator!(request.input);
    if (!result.ok) return { ok: false, reason: "invalid", errors: result.errors };
    if (result.stripped.length > 0) {
      this.#options.log("warn", `ignoring unknown input(s): ${result.stripped.join(", ")}`);
    }
    if (!this.#admission.canAdmit(runtime)) return { ok: false, reason: "busy" };

    const prediction = this.#newPrediction(request, result.value as Record<string, Json>, {
      ...options,
      runtime,
    });
    const lifecycle = new PredictionLifecycle(prediction, {
      runner: runtime,
      dir: `${this.#options.tmpDir}/p${++this.#dirCounter}`,
      files: this.#options.files,
      now: () => this.#now(),
      log: this.#options.log,
      onSettled: (settled) => this.#onSettled(settled),
    });
    const { stream } = this.#fanout.connect(prediction, {
      streaming: runtime.predictor?.streaming === true,
      onLastSubscriberLeft: () => {
        if (prediction.mode === "sse") lifecycle.cancel("subscribers_gone");
      },
    });
    this.#live.set(prediction.id, { lifecycle, runtime, stream });
    this.history.add(prediction);
    this.#admission.admit({ lifecycle, runtime });
    this.#notify();
    return { ok: true, prediction };
  }

  #newPrediction(request: CreateRequest, input: Record<string, Json>, options: {
    kind: "prediction" | "training";
    mode: RequestMode;
    runtime: Runtime;
  }): Prediction {
    const secrets = options.runtime.secretInputs();
    // Without Secret inputs the echoed input is the input itself (neither is mutated).
    const publicInput: Record<string, Json> = secrets.length > 0 ? { ...input } : input;
    for (const name of secrets) {
      if (publicInput[name] !== undefined && publicInput[name] !== null) {
        publicInput[name] = SECRET_MASK;
      }
    }
    const now = this.#now();
    return new Prediction({
      id: request.id || generateId(now),
      kind: options.kind,
      input,
      publicInput,
      context: request.context ?? {},
      webhook: request.webhook ?? null,
      webhookEvents: request.webhookEvents ?? WEBHOOK_EVENTS,
      mode: options.mode,
      arrayOutput: isArrayOutput(options.runtime.signature!, "predict"),
      now,
      traceHeaders: request.traceHeaders ?? {},
    });
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Opens an SSE subscriber on an in-flight prediction. */
  openEventStream(id: string): ReadableStream<Uint8Array> | "not_found" | "too_many" {
    const live = this.#live.get(id);
    if (!live?.stream) return "not_found";
    return live.stream.openSubscriber() ?? "too_many";
  }

  #onWorkerMessage(runtime: Runtime, message: PredictionMessage): void {
    const live = this.#live.get(message.id);
    if (!live || live.runtime !== runtime) {
      if (message.type === "log") this.#options.log("info", message.data.replace(/\n$/, ""));
      return;
    }
    live.lifecycle.onWorkerMessage(message);
  }

  #onWorkerLost(runtime: Runtime, reason: string): void {
    // Queued ones are not the worker's: they wait for the restart.
    const lost = [...this.#live.values()].filter((live) =>
      live.runtime === runtime && live.lifecycle.phase !== "queued"
    );
    for (const live of lost) live.lifecycle.workerLost(reason);
  }

  #onSettled(lifecycle: PredictionLifecycle): void {
    const { prediction } = lifecycle;
    this.#live.delete(prediction.id);
    this.#admission.remove(lifecycle);
    for (const o of this.#observers) o.predictionCompleted?.(prediction);
    this.#options.log(
      prediction.status === "failed" ? "info" : "debug",
      `${prediction.kind} ${prediction.status}`,
      { prediction_id: prediction.id, status: prediction.status },
    );
    this.#onStateChange();
  }

  /**
   * Cancels a prediction, in whatever phase it is. Idempotent: true (changing
   * nothing) when it already ended and is retained; false only when the id is
   * unknown or expired.
   */
  cancel(id: string, source: CancelSource = "request"): boolean {
    const live = this.#live.get(id);
    if (!live) return this.history.get(id) !== undefined;
    live.lifecycle.cancel(source);
    return true;
  }

  /**
   * Graceful shutdown: health reports SHUTTING_DOWN, new work is refused, the
   * workers are never restarted again, queued predictions are canceled,
   * running ones get the drain time to finish (then they are canceled, then
   * abandoned), terminal webhooks are delivered, the workers stop.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#drainAndStop();
    return this.#shutdown;
  }

  async #drainAndStop(): Promise<void> {
    for (const runtime of this.#allRuntimes()) runtime.beginShutdown();
    this.#notify();
    await this.#health.shutdownBegan();
    for (const { lifecycle } of [...this.#admission.queued()]) lifecycle.cancel("shutdown");
    const settled = () =>
      Promise.all([...this.#live.values()].map((l) => l.lifecycle.prediction.terminal));
    if (!await withTimeout(settled(), this.#options.drainTimeoutMs)) {
      this.#options.log("warn", "drain timeout: canceling the predictions still running");
      for (const live of [...this.#live.values()]) live.lifecycle.cancel("shutdown");
      await withTimeout(settled(), CANCEL_GRACE_MS);
      for (const live of [...this.#live.values()]) {
        live.lifecycle.abandon("the server shut down before the prediction finished");
      }
    }
    if (!await this.#fanout.webhooksDelivered(this.#options.drainTimeoutMs)) {
      this.#options.log("warn", "gave up on webhooks still being delivered at shutdown");
      this.#fanout.abandonWebhooks();
    }
    await Promise.all(this.#allRuntimes().map((r) => r.stop()));
    await Deno.remove(this.#options.tmpDir, { recursive: true }).catch(() => {});
  }

  /** True once shutdown began. */
  get shuttingDown(): boolean {
    return this.#shutdown !== null;
  }

  /**
   * Hot reload (--watch): each runtime finishes its running predictions, then
   * gets a new worker that runs setup() again. New refs apply when given.
   */
  async reload(refs: { predict?: string | null; train?: string | null } = {}): Promise<void> {
    if (this.#shutdown) return;
    await Promise.all([
      this.#runtimes.prediction?.reload(refs.predict ?? undefined),
      this.#runtimes.training?.reload(refs.train ?? undefined),
    ]);
  }

  /** Kills the workers immediately (fault injection in tests, force-quit). */
  killWorkers(): void {
    for (const runtime of this.#allRuntimes()) runtime.kill();
  }
}
