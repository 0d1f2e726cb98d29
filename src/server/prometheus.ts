// GET /metrics: Prometheus text exposition of the server's own figures
// (predictions by final status, duration histogram, in-flight and queued,
// setup duration, worker restarts). Fed by PredictionService.observe().

import type { Prediction } from "./prediction.ts";
import type { PredictionService } from "./service.ts";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Counters and histograms for one service. */
export class MetricsRegistry {
  #completed = new Map<string, number>();
  #durations = new Map<string, Histogram>();
  #setup = new Map<string, { seconds: number; ok: boolean }>();
  #restarts = new Map<string, number>();
  #service: PredictionService;

  constructor(service: PredictionService) {
    this.#service = service;
    service.observe({
      predictionCompleted: (p) => this.#onCompleted(p),
      setupFinished: (kind, seconds, ok) => this.#setup.set(kind, { seconds, ok }),
      workerRestarted: (kind) => this.#restarts.set(kind, (this.#restarts.get(kind) ?? 0) + 1),
    });
  }

  #onCompleted(prediction: Prediction): void {
    const key = `${prediction.kind}\u0000${prediction.status}`;
    this.#completed.set(key, (this.#completed.get(key) ?? 0) + 1);
    const seconds = prediction.startedAt && prediction.completedAt
      ? (prediction.completedAt.getTime() - prediction.startedAt.getTime()) / 1000
      : 0;
    let h = this.#durations.get(prediction.kind);
    if (!h) {
      this.#durations.set(
        prediction.kind,
        h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 },
      );
    }
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]) h.counts[i]++;
    }
    h.sum += seconds;
    h.count++;
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    out.push("# HELP cog_predictions_total Predictions that reached a final status.");
    out.push("# TYPE cog_predictions_total counter");
    for (const [key, n] of this.#completed) {
      const [kind, status] = key.split("\u0000");
      out.push(`cog_predictions_total{kind="${label(kind)}",status="${label(status)}"} ${n}`);
    }
    out.push("# HELP cog_prediction_duration_seconds Time from start to final status.");
    out.push("# TYPE cog_prediction_duration_seconds histogram");
    for (const [kind, h] of this.#durations) {
      BUCKETS.forEach((b, i) => {
        out.push(`cog_prediction_duration_seconds_bucket{kind="${kind}",le="${b}"} ${h.counts[i]}`);
      });
      out.push(`cog_prediction_duration_seconds_bucket{kind="${kind}",le="+Inf"} ${h.count}`);
      out.push(`cog_prediction_duration_seconds_sum{kind="${kind}"} ${h.sum}`);
      out.push(`cog_prediction_duration_seconds_count{kind="${kind}"} ${h.count}`);
    }
    const queued = this.#service.queueDepth;
    out.push(
      "# HELP cog_predictions_in_flight Predictions accepted and not yet final (queued included).",
    );
    out.push("# TYPE cog_predictions_in_flight gauge");
    out.push(`cog_predictions_in_flight ${this.#service.inFlight.length}`);
    out.push("# HELP cog_predictions_queued Predictions waiting for a slot.");
    out.push("# TYPE cog_predictions_queued gauge");
    out.push(`cog_predictions_queued ${queued}`);
    const slots = this.#service.slotUsage;
    out.push("# HELP cog_slots Prediction slots, and how many are busy.");
    out.push("# TYPE cog_slots gauge");
    out.push(`cog_slots{state="total"} ${slots.total}`);
    out.push(`cog_slots{state="busy"} ${slots.active}`);
    out.push("# HELP cog_setup_duration_seconds Duration of the last setup() run.");
    out.push("# TYPE cog_setup_duration_seconds gauge");
    for (const [kind, s] of this.#setup) {
      out.push(
        `cog_setup_duration_seconds{kind="${kind}",result="${
          s.ok ? "succeeded" : "failed"
        }"} ${s.seconds}`,
      );
    }
    out.push("# HELP cog_worker_restarts_total Python worker restarts after a crash.");
    out.push("# TYPE cog_worker_restarts_total counter");
    for (const kind of ["prediction", "training"]) {
      if (this.#restarts.has(kind) || this.#setup.has(kind)) {
        out.push(`cog_worker_restarts_total{kind="${kind}"} ${this.#restarts.get(kind) ?? 0}`);
      }
    }
    return out.join("\n") + "\n";
  }
}
