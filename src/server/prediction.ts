// One prediction (or training): its status, accumulated output, logs and
// metrics, and the events it emits. Its status changes only through the
// `to*` transition methods, which only lifecycle.ts calls (a test checks);
// terminal states are sticky.

import type { Json } from "../schema/mod.ts";
import type { OutputValue } from "./file_value.ts";
import { mergeMetric, type MetricMode } from "./metrics.ts";

/** Cog's prediction status values (wire strings). */
export type PredictionStatus = "starting" | "processing" | "succeeded" | "failed" | "canceled";

/** The status values, in lifecycle order. */
export const PREDICTION_STATUSES: readonly PredictionStatus[] = [
  "starting",
  "processing",
  "succeeded",
  "canceled",
  "failed",
];

/** True for succeeded, failed and canceled. */
export function isTerminal(status: PredictionStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "canceled";
}

/** All webhook events (the `webhook_events_filter` values), the default filter. */
export const WEBHOOK_EVENTS = ["start", "output", "logs", "completed"] as const;

/** Webhook event names. */
export type WebhookEventName = typeof WEBHOOK_EVENTS[number];

/** What a prediction emits as it runs (SSE events, webhooks and metrics follow these). */
export type PredictionEvent =
  | { type: "start" }
  | { type: "output"; chunk: OutputValue; index: number }
  | { type: "log"; source: "stdout" | "stderr"; data: string }
  | { type: "metric"; name: string; value: Json; mode: MetricMode }
  | { type: "completed" };

/** How the prediction was requested. */
export type RequestMode = "sync" | "async" | "sse";

/** Options for a new {@linkcode Prediction}. */
export interface PredictionInit {
  id: string;
  kind: "prediction" | "training";
  /** Validated input (what the model receives, before file downloads). */
  input: Record<string, Json>;
  /** Input as echoed to clients (secrets masked). */
  publicInput: Record<string, Json>;
  context: Record<string, string>;
  webhook: string | null;
  webhookEvents: readonly WebhookEventName[];
  mode: RequestMode;
  /** The output schema is an array: the output is always a list. */
  arrayOutput: boolean;
  now: Date;
  /** Extra headers to forward on webhooks (traceparent, tracestate). */
  traceHeaders: Record<string, string>;
}

/** The JSON object clients see (responses, webhooks, SSE `completed`). */
export interface PredictionResponse {
  id: string;
  status: PredictionStatus;
  input: Record<string, Json>;
  output: OutputValue;
  logs: string;
  error: string | null;
  metrics: Record<string, Json>;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  version: null;
  webhook?: string;
  webhook_events_filter?: WebhookEventName[];
}

let lastMs = NaN;
let lastIso = "";

/**
 * `date.toISOString()`, remembering the last one: every response carries three
 * timestamps, and under load many of them fall in the same millisecond.
 */
function isoOf(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastMs) {
    lastIso = date.toISOString(); // throws for an invalid date, as before
    lastMs = ms;
  }
  return lastIso;
}

/** A prediction and everything it has produced so far. */
export class Prediction {
  readonly id: string;
  readonly kind: "prediction" | "training";
  readonly input: Record<string, Json>;
  readonly publicInput: Record<string, Json>;
  readonly context: Record<string, string>;
  readonly webhook: string | null;
  readonly webhookEvents: readonly WebhookEventName[];
  readonly mode: RequestMode;
  readonly traceHeaders: Record<string, string>;
  readonly createdAt: Date;
  readonly arrayOutput: boolean;

  #status: PredictionStatus = "starting";
  #chunks: OutputValue[] = [];
  #isStream = false;
  #logs: string[] = [];
  #logsLength = 0;
  #error: string | null = null;
  #metrics: Record<string, Json> = {};
  #startedAt: Date | null = null;
  #completedAt: Date | null = null;
  #listeners = new Set<(event: PredictionEvent) => void>();
  #holds = 0;
  #onReleased: (() => void)[] = [];
  #terminal: Promise<void>;
  #resolveTerminal!: () => void;

  constructor(init: PredictionInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.input = init.input;
    this.publicInput = init.publicInput;
    this.context = init.context;
    this.webhook = init.webhook;
    this.webhookEvents = init.webhookEvents;
    this.mode = init.mode;
    this.traceHeaders = init.traceHeaders;
    this.createdAt = init.now;
    this.arrayOutput = init.arrayOutput;
    this.#terminal = new Promise((resolve) => this.#resolveTerminal = resolve);
  }

  get status(): PredictionStatus {
    return this.#status;
  }

  get isTerminal(): boolean {
    return isTerminal(this.#status);
  }

  get startedAt(): Date | null {
    return this.#startedAt;
  }

  get completedAt(): Date | null {
    return this.#completedAt;
  }

  /** Number of output chunks so far. */
  get outputCount(): number {
    return this.#chunks.length;
  }

  /** Resolves once the prediction reached a terminal state. */
  get terminal(): Promise<void> {
    return this.#terminal;
  }

  /**
   * Keeps the prediction's files on disk until the returned function is
   * called (a sync response still streaming its output). Idempotent release.
   */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds === 0) { for (const resolve of this.#onReleased.splice(0)) resolve(); }
    };
  }

  /** Resolves once nobody holds the prediction's files. */
  whenReleased(): Promise<void> {
    if (this.#holds === 0) return Promise.resolve();
    return new Promise((resolve) => this.#onReleased.push(resolve));
  }

  /** Calls `listener` for every event from now on; returns the function that stops it. */
  onEvent(listener: (event: PredictionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: PredictionEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // a broken listener must not break the prediction
      }
    }
  }

  /** starting -> processing (once). Lifecycle only. */
  toProcessing(now: Date): void {
    if (this.#status !== "starting") return;
    this.#status = "processing";
    this.#startedAt = now;
    this.#emit({ type: "start" });
  }

  /** Appends captured output. */
  appendLog(source: "stdout" | "stderr", data: string): void {
    if (this.isTerminal || data.length === 0) return;
    this.#logs.push(data);
    this.#logsLength += data.length;
    this.#emit({ type: "log", source, data });
  }

  /** Appends one output chunk (files already resolved to URLs or FileValues). */
  addOutput(chunk: OutputValue): void {
    if (this.isTerminal) return;
    const index = this.#chunks.length;
    this.#chunks.push(chunk);
    this.#emit({ type: "output", chunk, index });
  }

  /** Applies a user metric (Cog's merge rules). */
  recordMetric(name: string, value: Json, mode: MetricMode): void {
    if (this.isTerminal) return;
    mergeMetric(this.#metrics, name, value, mode);
    this.#emit({ type: "metric", name, value, mode });
  }

  /** -> succeeded. Lifecycle only. */
  toSucceeded(isStream: boolean, now: Date): boolean {
    if (this.isTerminal) return false;
    this.#isStream = isStream;
    return this.#finish("succeeded", null, now);
  }

  /** -> failed. Lifecycle only. */
  toFailed(error: string, now: Date): boolean {
    if (this.isTerminal) return false;
    return this.#finish("failed", error, now);
  }

  /** -> canceled. Lifecycle only. */
  toCanceled(now: Date): boolean {
    if (this.isTerminal) return false;
    return this.#finish("canceled", null, now);
  }

  #finish(status: PredictionStatus, error: string | null, now: Date): boolean {
    this.#status = status;
    this.#error = error;
    this.#completedAt = now;
    if (!this.#startedAt) this.#startedAt = now;
    this.#resolveTerminal();
    this.#emit({ type: "completed" });
    this.#listeners.clear();
    return true;
  }

  /** The output as Cog shows it (array rule of http-protocol.md 3.5). */
  output(): OutputValue {
    if (!this.isTerminal || this.#status !== "succeeded") {
      return this.#chunks.length > 0 ? [...this.#chunks] : null;
    }
    if (this.arrayOutput || this.#isStream) return [...this.#chunks];
    if (this.#chunks.length === 0) return null;
    return this.#chunks[0];
  }

  /** All logs so far. */
  logs(): string {
    if (this.#logs.length > 1) this.#logs = [this.#logs.join("")];
    return this.#logs[0] ?? "";
  }

  /** Length of the logs in UTF-16 units. */
  get logsLength(): number {
    return this.#logsLength;
  }

  /** Metrics, with predict_time once terminal. */
  metrics(): Record<string, Json> {
    const metrics: Record<string, Json> = { ...this.#metrics };
    if (this.isTerminal && this.#startedAt && this.#completedAt) {
      metrics.predict_time = (this.#completedAt.getTime() - this.#startedAt.getTime()) / 1000;
    }
    return metrics;
  }

  /** The full prediction object. */
  toResponse(): PredictionResponse {
    const response: PredictionResponse = {
      id: this.id,
      status: this.#status,
      input: this.publicInput,
      output: this.output(),
      logs: this.logs(),
      error: this.#error,
      metrics: this.metrics(),
      created_at: isoOf(this.createdAt),
      started_at: this.#startedAt ? isoOf(this.#startedAt) : null,
      completed_at: this.#completedAt ? isoOf(this.#completedAt) : null,
      version: null,
    };
    if (this.webhook) {
      response.webhook = this.webhook;
      response.webhook_events_filter = [...this.webhookEvents];
    }
    return response;
  }
}
