// The prediction service: the one owner of prediction and health state.
// It validates requests, takes slots (or queues), downloads input files,
// routes worker messages to predictions in order, resolves output files,
// drives webhooks and SSE, and drains on shutdown. No HTTP here.

import type { Json, Signature } from "../schema/mod.ts";
import { buildOpenApiDocument, mergeOpenApiDocuments } from "../schema/mod.ts";
import type { PredictionMessage, WorkerSpawner } from "../worker/mod.ts";
import {
  checkInputUrl,
  downloadInput,
  type FileOptions,
  InputFileError,
  isFetchableUrl,
  resolveOutputFile,
} from "./files.ts";
import {
  Prediction,
  type RequestMode,
  WEBHOOK_EVENTS,
  type WebhookEventName,
} from "./prediction.ts";
import { Runtime, type SetupRecord } from "./runtime.ts";
import { PredictionStream, type StreamOptions } from "./sse.ts";
import { WebhookDispatcher, type WebhookOptions } from "./webhook.ts";
import { COG_VERSION, SECRET_MASK } from "./wire.ts";

/** Health values reported by /health-check (wire strings). */
export type HealthStatus =
  | "UNKNOWN"
  | "STARTING"
  | "READY"
  | "BUSY"
  | "SETUP_FAILED"
  | "DEFUNCT"
  | "UNHEALTHY";

/** The /health-check body. */
export interface HealthReport {
  status: HealthStatus;
  setup?: SetupRecord;
  version: Record<string, string>;
  user_healthcheck_error?: string;
  queue?: { depth: number; capacity: number };
  /** Why the server gave up (DEFUNCT only). */
  defunct_reason?: string;
}

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
  | { reason: "not_ready" }
  | { reason: "busy" }
  | { reason: "invalid"; errors: { loc: (string | number)[]; msg: string; type: string }[] }
  | { reason: "duplicate"; prediction: Prediction }
  | { reason: "not_streaming" }
  | { reason: "shutting_down" }
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
  /** Wait for async predictions at shutdown, ms. */
  drainTimeoutMs: number;
  /** File touched on the first READY health check (Kubernetes: /var/run/cog/ready), or null. */
  readyFile?: string | null;
}

interface Entry {
  prediction: Prediction;
  runtime: Runtime;
  dir: string;
  chain: Promise<void>;
  /** Created on first use: aborting wakes downloads and uploads (cheap when unused). */
  abort: AbortController | null;
  /** Files were written under `dir` (inputs downloaded or outputs produced). */
  touched: boolean;
  /** Message steps waiting behind an asynchronous one (see #enqueue). */
  pending: number;
  webhook: WebhookDispatcher | null;
  stream: PredictionStream | null;
  dispatched: boolean;
  queued: boolean;
}

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
  #entries = new Map<string, Entry>();
  #queue: Entry[] = [];
  #webhooksInFlight = new Set<WebhookDispatcher>();
  #shuttingDown = false;
  #dirCounter = 0;
  #readyFileWritten = false;
  #listeners = new Set<() => void>();
  #observers = new Set<ServiceObserver>();

  constructor(options: ServiceOptions) {
    this.#options = options;
    const make = (kind: "prediction" | "training", ref: string | null) =>
      ref === null ? null : new Runtime({
        kind,
        spawn: options.spawnWorker,
        worker: { cwd: options.projectDir, ref, env: options.workerEnv, python: options.python },
        concurrency: options.concurrency,
        setupTimeoutMs: options.setupTimeoutMs,
        maxRestarts: 3,
        restartWindowMs: 60_000,
      }, {
        onPredictionMessage: (runtime, event) => this.#onWorkerMessage(runtime, event),
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
    if (options.mode === "train") {
      this.#runtimes = { prediction: null, training: make("training", options.trainRef) };
    } else {
      this.#runtimes = {
        prediction: make("prediction", options.predictRef),
        training: make("training", options.trainRef),
      };
    }
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
    for (const listener of this.#listeners) listener();
    this.#pumpQueue();
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
    return [...this.#entries.keys()];
  }

  /** Queue depth. */
  get queueDepth(): number {
    return this.#queue.length;
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
    return this.#entries.get(id)?.prediction;
  }

  #baseStatus(): HealthStatus {
    const runtimes = this.#allRuntimes();
    if (runtimes.length === 0) return "UNKNOWN";
    if (runtimes.some((r) => r.state === "defunct")) return "DEFUNCT";
    if (runtimes.some((r) => r.state === "setup_failed")) return "SETUP_FAILED";
    if (runtimes.some((r) => r.state === "starting")) return "STARTING";
    if (runtimes.some((r) => r.state === "stopped")) return "DEFUNCT";
    const main = runtimes[0];
    return main.hasFreeSlot() ? "READY" : "BUSY";
  }

  /** The /health-check report (runs the user's healthcheck() when READY/BUSY). */
  async health(): Promise<HealthReport> {
    let status = this.#baseStatus();
    const runtimes = this.#allRuntimes();
    const main = runtimes[0];
    const report: HealthReport = {
      status,
      version: {
        coglet: COG_VERSION,
        python_sdk: COG_VERSION,
      },
    };
    if (main) report.setup = this.#combinedSetup(runtimes);
    if (this.#options.queueSize > 0) {
      report.queue = { depth: this.#queue.length, capacity: this.#options.queueSize };
    }
    if ((status === "READY" || status === "BUSY") && main) {
      const result = await main.healthcheck();
      status = this.#baseStatus();
      if (!result.ok && (status === "READY" || status === "BUSY")) {
        status = "UNHEALTHY";
        report.user_healthcheck_error = result.error ?? "Healthcheck failed";
      }
      report.status = status;
      if (status === "READY" && !this.#readyFileWritten && this.#options.readyFile) {
        this.#readyFileWritten = true;
        await writeReadyFile(this.#options.readyFile, this.#options.log);
      }
    }
    if (status === "DEFUNCT") {
      // Beyond Cog: say why, so an operator does not have to dig through logs.
      const reason = runtimes.find((r) => r.defunctReason)?.defunctReason;
      if (reason) report.defunct_reason = reason;
    }
    return report;
  }

  #combinedSetup(runtimes: Runtime[]): SetupRecord {
    if (runtimes.length === 1) return runtimes[0].setup;
    const setups = runtimes.map((r) => r.setup);
    const failed = setups.find((s) => s.status === "failed");
    const starting = setups.find((s) => s.status === "starting");
    const logs = setups.map((s) => s.logs ?? "").join("");
    const record: SetupRecord = {
      started_at: setups[0].started_at,
      status: failed ? "failed" : starting ? "starting" : "succeeded",
    };
    if (!starting) {
      record.completed_at = setups.map((s) => s.completed_at ?? "").sort().at(-1);
    }
    if (logs) record.logs = logs;
    return record;
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
   * Creates a prediction. `idempotent` (PUT) returns `duplicate` with the live
   * prediction when the id is in flight; POST with an in-flight id is refused
   * the same way (never run twice).
   */
  create(request: CreateRequest, options: {
    kind: "prediction" | "training";
    mode: RequestMode;
  }): CreateResult {
    if (this.#shuttingDown) return { ok: false, reason: "shutting_down" };
    const runtime = this.#runtimeFor(options.kind);
    if (!runtime) {
      return { ok: false, reason: options.kind === "training" ? "no_training" : "not_ready" };
    }
    if (request.id) {
      const existing = this.#entries.get(request.id);
      if (existing) return { ok: false, reason: "duplicate", prediction: existing.prediction };
    }
    if (runtime.state !== "ready" || !runtime.validator) return { ok: false, reason: "not_ready" };
    if (options.mode === "sse" && !runtime.predictor?.streaming) {
      return { ok: false, reason: "not_streaming" };
    }
    const result = runtime.validator(request.input);
    if (!result.ok) return { ok: false, reason: "invalid", errors: result.errors };
    if (result.stripped.length > 0) {
      this.#options.log("warn", `ignoring unknown input(s): ${result.stripped.join(", ")}`);
    }
    const queueFree = this.#options.queueSize - this.#queue.length;
    if (!runtime.hasFreeSlot() && queueFree <= 0) return { ok: false, reason: "busy" };

    const input = result.value as Record<string, Json>;
    const secrets = runtime.secretInputs();
    // Without Secret inputs the echoed input is the input itself (neither is mutated).
    const publicInput: Record<string, Json> = secrets.length > 0 ? { ...input } : input;
    for (const name of secrets) {
      if (publicInput[name] !== undefined && publicInput[name] !== null) {
        publicInput[name] = SECRET_MASK;
      }
    }
    const now = this.#now();
    const prediction = new Prediction({
      id: request.id || generateId(now),
      kind: options.kind,
      input,
      publicInput,
      context: request.context ?? {},
      webhook: request.webhook ?? null,
      webhookEvents: request.webhookEvents ?? WEBHOOK_EVENTS,
      mode: options.mode,
      arrayOutput: isArrayType(runtime.signature!),
      now,
      traceHeaders: request.traceHeaders ?? {},
    });
    const entry: Entry = {
      prediction,
      runtime,
      dir: `${this.#options.tmpDir}/p${++this.#dirCounter}`,
      chain: Promise.resolve(),
      abort: null,
      touched: false,
      pending: 0,
      webhook: null,
      stream: null,
      dispatched: false,
      queued: false,
    };
    this.#entries.set(prediction.id, entry);
    if (prediction.webhook) {
      entry.webhook = new WebhookDispatcher(prediction, prediction.webhook, {
        ...this.#options.webhooks,
        log: (level, message) =>
          this.#options.log(level, message, { prediction_id: prediction.id }),
      });
      const dispatcher = entry.webhook;
      this.#webhooksInFlight.add(dispatcher);
      dispatcher.done.finally(() => this.#webhooksInFlight.delete(dispatcher));
    }
    // Only @streaming predictors can be subscribed to (SSE), so only they keep a stream history.
    if (runtime.predictor?.streaming) {
      entry.stream = new PredictionStream(prediction, this.#options.stream, () => {
        if (prediction.mode === "sse") this.cancel(prediction.id);
      });
    }
    prediction.terminal.then(() => this.#onTerminal(entry));
    if (runtime.hasFreeSlot()) this.#begin(entry);
    else {
      entry.queued = true;
      this.#queue.push(entry);
      this.#onStateChange();
    }
    return { ok: true, prediction };
  }

  /** Opens an SSE subscriber on an in-flight prediction. */
  subscribe(id: string): ReadableStream<Uint8Array> | "not_found" | "too_many" {
    const entry = this.#entries.get(id);
    if (!entry?.stream) return "not_found";
    return entry.stream.subscribe() ?? "too_many";
  }

  #begin(entry: Entry): void {
    const { prediction, runtime } = entry;
    runtime.reserve(prediction.id);
    prediction.markProcessing(this.#now());
    this.#onStateChange();
    if (prediction.cancelRequested) {
      this.#finishCanceled(entry);
      return;
    }
    const dispatch = (input: Record<string, Json>) => {
      if (prediction.isTerminal) return;
      if (prediction.cancelRequested) {
        this.#finishCanceled(entry);
        return;
      }
      entry.dispatched = true;
      runtime.send({
        id: prediction.id,
        input,
        context: prediction.context,
        // The worker creates it if it writes a file there.
        output_dir: `${entry.dir}/out`,
      });
    };
    const failPreparing = (error: unknown) => {
      if (prediction.cancelRequested) {
        this.#finishCanceled(entry);
        return;
      }
      const message = error instanceof InputFileError
        ? `Input validation error: ${error.message}`
        : `Failed to prepare inputs: ${error instanceof Error ? error.message : String(error)}`;
      runtime.release(prediction.id);
      prediction.fail(message, this.#now());
    };
    let downloads: { input: Record<string, Json>; jobs: (() => Promise<void>)[] } | null;
    try {
      downloads = this.#downloadJobs(entry);
    } catch (error) {
      failPreparing(error);
      return;
    }
    if (downloads === null) {
      dispatch(prediction.input);
      return;
    }
    entry.touched = true;
    const { input, jobs } = downloads;
    runLimited(jobs, 8).then(() => dispatch(input)).catch(failPreparing);
  }

  #signal(entry: Entry): AbortSignal {
    entry.abort ??= new AbortController();
    return entry.abort.signal;
  }

  /**
   * The downloads a prediction needs before it can run (URL inputs of file
   * fields), or null when there are none. Throws InputFileError for a refused URL.
   */
  #downloadJobs(
    entry: Entry,
  ): { input: Record<string, Json>; jobs: (() => Promise<void>)[] } | null {
    const { prediction, runtime } = entry;
    const files = runtime.fileInputs();
    if (files.length === 0) return null;
    const input: Record<string, Json> = { ...prediction.input };
    const jobs: (() => Promise<void>)[] = [];
    let n = 0;
    const fetchOne = (name: string, url: string, set: (path: string) => void) => {
      checkInputUrl(name, url);
      if (!isFetchableUrl(url)) return;
      const dir = `${entry.dir}/in/${n++}`;
      jobs.push(() =>
        downloadInput(url, dir, this.#options.files, this.#signal(entry)).then(set).catch((e) => {
          if (e instanceof InputFileError) throw new InputFileError(`${name}: ${e.message}`);
          throw e;
        })
      );
    };
    for (const file of files) {
      const value = input[file.name];
      if (typeof value === "string") {
        fetchOne(file.name, value, (path) => input[file.name] = path);
      } else if (Array.isArray(value)) {
        const list = [...value];
        input[file.name] = list;
        list.forEach((item, i) => {
          if (typeof item === "string") {
            fetchOne(`${file.name}[${i}]`, item, (path) => list[i] = path);
          }
        });
      }
    }
    return jobs.length > 0 ? { input, jobs } : null;
  }

  #pumpQueue(): void {
    for (const entry of this.#queue) {
      // a runtime that will never be ready again cannot serve its queue
      const state = entry.runtime.state;
      if (state === "defunct" || state === "setup_failed" || state === "stopped") {
        const why = entry.runtime.defunctReason ?? `the ${entry.runtime.kind} worker is ${state}`;
        entry.prediction.fail(`The prediction could not start: ${why}`, this.#now());
      }
    }
    while (this.#queue.length > 0) {
      const entry = this.#queue[0];
      if (entry.prediction.isTerminal) {
        this.#queue.shift();
        continue;
      }
      if (!entry.runtime.hasFreeSlot()) {
        // another runtime's entry may be free; keep FIFO per runtime simple
        const other = this.#queue.findIndex((e) =>
          e.runtime.hasFreeSlot() && !e.prediction.isTerminal
        );
        if (other === -1) return;
        const [next] = this.#queue.splice(other, 1);
        next.queued = false;
        this.#begin(next);
        continue;
      }
      this.#queue.shift();
      entry.queued = false;
      this.#begin(entry);
    }
  }

  #onWorkerMessage(runtime: Runtime, event: PredictionMessage): void {
    if (event.type === "done" && event.output !== undefined) {
      // A done that carries the prediction's single output: the output, then the done.
      const { output, ...done } = event;
      const { value, files } = output;
      this.#onWorkerMessage(runtime, {
        v: event.v,
        type: "output",
        id: event.id,
        index: 0,
        value,
        files,
      });
      this.#onWorkerMessage(runtime, done);
      return;
    }
    const entry = this.#entries.get(event.id);
    if (!entry || entry.runtime !== runtime) {
      if (event.type === "log") this.#options.log("info", event.data.replace(/\n$/, ""));
      return;
    }
    const { prediction } = entry;
    this.#enqueue(entry, () => {
      switch (event.type) {
        case "log":
          prediction.appendLog(event.source, event.data);
          this.#options.log("info", event.data.replace(/\n$/, ""), {
            prediction_id: prediction.id,
          });
          return;
        case "started":
          return;
        case "metric":
          prediction.recordMetric(event.name, event.value, event.mode);
          return;
        case "output": {
          if (prediction.isTerminal) return;
          if (event.files.length === 0) {
            prediction.addOutput(event.value);
            return;
          }
          return this.#resolveFiles(entry, event.value, event.files).then(
            (value) => prediction.addOutput(value),
            (error) => {
              if (prediction.isTerminal) return;
              const message = error instanceof Error ? error.message : String(error);
              runtime.cancel(prediction.id);
              this.#fail(entry, prediction.cancelRequested ? null : message);
            },
          );
        }
        case "done":
          runtime.release(prediction.id);
          prediction.succeed(event.is_stream, this.#now());
          return;
        case "failed":
          runtime.release(prediction.id);
          if (prediction.cancelRequested) prediction.cancel(this.#now());
          else prediction.fail(event.error, this.#now());
          return;
        case "canceled":
          runtime.release(prediction.id);
          prediction.cancel(this.#now());
          return;
      }
    });
  }

  /**
   * Runs a prediction's message steps strictly in order. A step runs at once
   * when nothing is pending (the common case: no promise hop per message);
   * after an asynchronous step (file uploads) later steps wait their turn.
   */
  #enqueue(entry: Entry, step: () => void | Promise<void>): void {
    const report = (error: unknown) =>
      this.#options.log("error", `internal error handling a worker message: ${error}`);
    if (entry.pending === 0) {
      let result: void | Promise<void>;
      try {
        result = step();
      } catch (error) {
        report(error);
        return;
      }
      if (!result) return;
      entry.pending++;
      entry.chain = result.catch(report).finally(() => entry.pending--);
      return;
    }
    entry.pending++;
    entry.chain = entry.chain.then(step).catch(report).finally(() => entry.pending--);
  }

  #fail(entry: Entry, error: string | null): void {
    // The worker is told to cancel; its terminal message will free the slot.
    const { prediction } = entry;
    if (error === null) prediction.cancel(this.#now());
    else prediction.fail(error, this.#now());
    if (!entry.dispatched) entry.runtime.release(prediction.id);
  }

  async #resolveFiles(
    entry: Entry,
    value: Json,
    files: { pointer: string; path: string; mime: string | null }[],
  ): Promise<Json> {
    if (files.length === 0) return value;
    entry.touched = true; // the worker may have written into the prediction's out dir
    const headers = { "x-prediction-id": entry.prediction.id };
    let result = value;
    for (const file of files) {
      const url = await resolveOutputFile(
        file.path,
        file.mime,
        this.#options.files,
        headers,
        this.#signal(entry),
        `${entry.dir}/keep`,
      ) as unknown as Json; // a FileValue serialises as its data URL
      result = setPointer(result, file.pointer, url);
    }
    return result;
  }

  #onWorkerLost(runtime: Runtime, reason: string): void {
    for (const entry of this.#entries.values()) {
      // queued ones wait for the restart; preparing ones lost their slot with the worker
      if (entry.runtime !== runtime || entry.queued) continue;
      this.#enqueue(entry, () => {
        entry.prediction.fail(reason, this.#now());
      });
    }
  }

  #finishCanceled(entry: Entry): void {
    entry.runtime.release(entry.prediction.id);
    entry.prediction.cancel(this.#now());
  }

  #onTerminal(entry: Entry): void {
    const { prediction } = entry;
    entry.abort?.abort();
    this.#entries.delete(prediction.id);
    if (entry.queued) {
      const index = this.#queue.indexOf(entry);
      if (index !== -1) this.#queue.splice(index, 1);
    }
    if (entry.touched) {
      prediction.whenReleased().then(() => Deno.remove(entry.dir, { recursive: true })).catch(
        () => {},
      );
    }
    for (const o of this.#observers) o.predictionCompleted?.(prediction);
    this.#options.log(
      prediction.status === "failed" ? "info" : "debug",
      `${prediction.kind} ${prediction.status}`,
      {
        prediction_id: prediction.id,
        status: prediction.status,
      },
    );
    this.#onStateChange();
  }

  /**
   * Requests cancellation. Returns false when the id is unknown or finished.
   * Queued and preparing predictions end at once; running ones when the
   * worker confirms.
   */
  cancel(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry || entry.prediction.isTerminal) return false;
    const first = entry.prediction.requestCancel();
    if (!first) return false;
    if (entry.queued) {
      entry.prediction.cancel(this.#now());
      return true;
    }
    if (!entry.dispatched) {
      entry.abort?.abort();
      return true; // #begin's continuation finishes it as canceled
    }
    entry.abort?.abort(); // an upload of its output in flight stops at once
    entry.runtime.cancel(id);
    return true;
  }

  /**
   * Graceful shutdown: refuse new work, let running predictions finish
   * (bounded by the drain timeout, then cancel them), deliver terminal
   * webhooks, stop the workers.
   */
  async shutdown(): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const entry of [...this.#queue]) entry.prediction.cancel(this.#now());
    const running = [...this.#entries.values()].map((e) => e.prediction.terminal);
    const drained = await withTimeout(Promise.all(running), this.#options.drainTimeoutMs);
    if (!drained) {
      this.#options.log("warn", "drain timeout: canceling the predictions still running");
      for (const id of [...this.#entries.keys()]) this.cancel(id);
      await withTimeout(
        Promise.all([...this.#entries.values()].map((e) => e.prediction.terminal)),
        5000,
      );
      for (const entry of [...this.#entries.values()]) {
        entry.prediction.fail("the server shut down before the prediction finished", this.#now());
      }
    }
    const hooks = await withTimeout(
      Promise.all([...this.#webhooksInFlight].map((d) => d.done)),
      this.#options.drainTimeoutMs,
    );
    if (!hooks) {
      this.#options.log("warn", "gave up on webhooks still being delivered at shutdown");
      for (const dispatcher of this.#webhooksInFlight) dispatcher.abort();
    }
    await Promise.all(this.#allRuntimes().map((r) => r.stop()));
    await Deno.remove(this.#options.tmpDir, { recursive: true }).catch(() => {});
  }

  /** True once shutdown began. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Hot reload (--watch): each runtime finishes its running predictions, then
   * gets a new worker that runs setup() again. New refs apply when given.
   */
  async reload(refs: { predict?: string | null; train?: string | null } = {}): Promise<void> {
    if (this.#shuttingDown) return;
    await Promise.all([
      this.#runtimes.prediction?.reload(refs.predict ?? undefined),
      this.#runtimes.training?.reload(refs.train ?? undefined),
    ]);
  }

  /** Kills the workers immediately (fault injection in tests). */
  killWorkers(): void {
    for (const runtime of this.#allRuntimes()) runtime.kill();
  }
}

function isArrayType(signature: Signature): boolean {
  const kind = signature.output.kind;
  return kind === "list" || kind === "iterator";
}

function setPointer(root: Json, pointer: string, value: Json): Json {
  if (pointer === "") return value;
  const parts = pointer.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: Json = root;
  for (let i = 0; i < parts.length - 1; i++) {
    if (node === null || typeof node !== "object") return root;
    node = Array.isArray(node) ? node[Number(parts[i])] : node[parts[i]];
  }
  const last = parts[parts.length - 1];
  if (Array.isArray(node)) node[Number(last)] = value;
  else if (node !== null && typeof node === "object") node[last] = value;
  return root;
}

/** Runs jobs at most `limit` at a time; all settle, then the first error is thrown. */
async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let firstError: unknown = null;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      try {
        await job();
      } catch (error) {
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  if (firstError !== null) throw firstError;
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function writeReadyFile(path: string, log: ServiceLogger): Promise<void> {
  try {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    await Deno.writeFile(path, new Uint8Array());
  } catch (error) {
    log("warn", `could not write ${path}: ${error}`);
  }
}
