// The predictions the server has seen, kept after they end so that
// GET /predictions/{id} (and the /v1 API) can answer "what happened to X?".
// Bounded twice: an ended prediction is dropped `retentionMs` after it ended,
// and the oldest entry goes when there are more than `maxEntries`. The
// registry keeps the Prediction objects themselves (never copies), so a large
// output is held once. An output kept on disk (a FileValue snapshot) stays on
// disk while its prediction is retained, through Prediction.hold().

import { hasFileValue } from "./file_value.ts";
import type { Prediction } from "./prediction.ts";

/** Limits of a {@linkcode PredictionHistory}. */
export interface HistoryOptions {
  /** How long an ended prediction is kept, ms (COG_PREDICTION_RETENTION, default 3600 s). */
  retentionMs: number;
  /** Most predictions kept; the oldest goes first (COG_PREDICTION_HISTORY, default 1000). */
  maxEntries: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

/** The defaults: one hour, 1000 predictions. */
export const DEFAULT_HISTORY: Readonly<HistoryOptions> = {
  retentionMs: 3600_000,
  maxEntries: 1000,
};

interface Entry {
  prediction: Prediction;
  /** Position in arrival order (pagination cursors). */
  seq: number;
  /** Gives back the hold on the prediction's files (safe to call twice). */
  release: () => void;
}

/** One page of {@linkcode PredictionHistory.page}. */
export interface HistoryPage {
  /** Newest first. */
  items: Prediction[];
  /** Cursor of the next (older) page, or null on the last one. */
  next: number | null;
}

/** A bounded registry of predictions by id, running and ended. */
export class PredictionHistory {
  #options: HistoryOptions;
  /** Insertion order is arrival order: the first entry is the oldest. */
  #records = new Map<string, Entry>();
  #seq = 0;
  #lastSweep = -Infinity;

  constructor(options: HistoryOptions = DEFAULT_HISTORY) {
    if (!(options.retentionMs >= 0) || !(options.maxEntries >= 0)) {
      throw new RangeError(
        `prediction history limits must be >= 0, got ${options.retentionMs} ms and ${options.maxEntries} entries`,
      );
    }
    this.#options = options;
  }

  #now(): number {
    return this.#options.now ? this.#options.now() : Date.now();
  }

  /** Predictions held now (expired ones may still count until the next access). */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Records a new prediction (call it when the prediction is created). A
   * prediction with the id of a retained one replaces it.
   */
  add(prediction: Prediction): void {
    if (this.#options.maxEntries === 0) return;
    this.#drop(prediction.id);
    // Held from the start, so the files cannot be removed before we know
    // whether the final output needs them; given back at once when it does not.
    const release = prediction.hold();
    const record: Entry = { prediction, seq: ++this.#seq, release };
    this.#records.set(prediction.id, record);
    prediction.terminal.then(() => {
      if (this.#records.get(prediction.id) !== record || !hasFileValue(prediction.output())) {
        release();
      }
    });
    // A full sweep at most once a second: creating a prediction stays O(1).
    const now = this.#now();
    if (now - this.#lastSweep >= Math.min(1000, this.#options.retentionMs)) {
      this.#lastSweep = now;
      this.#sweep();
    }
    while (this.#records.size > this.#options.maxEntries) {
      this.#drop(this.#records.keys().next().value!);
    }
  }

  /** The prediction with this id, running or ended, unless unknown or expired. */
  get(id: string): Prediction | undefined {
    const record = this.#records.get(id);
    if (!record) return undefined;
    if (this.#expired(record.prediction)) {
      this.#drop(id);
      return undefined;
    }
    return record.prediction;
  }

  /**
   * Newest first, `limit` at a time, optionally only one kind; `before` is the
   * `next` cursor of the previous page.
   */
  page(options: { limit: number; before?: number; kind?: Prediction["kind"] }): HistoryPage {
    this.#sweep();
    const limit = Math.max(1, options.limit);
    const records = [...this.#records.values()];
    const items: Prediction[] = [];
    let last = 0;
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i];
      if (options.before !== undefined && record.seq >= options.before) continue;
      if (options.kind && record.prediction.kind !== options.kind) continue;
      if (items.length === limit) return { items, next: last };
      items.push(record.prediction);
      last = record.seq;
    }
    return { items, next: null };
  }

  /** Drops everything (and gives back every hold on files). */
  clear(): void {
    for (const id of [...this.#records.keys()]) this.#drop(id);
  }

  #expired(prediction: Prediction): boolean {
    const ended = prediction.completedAt;
    return ended !== null && this.#now() - ended.getTime() >= this.#options.retentionMs;
  }

  /** Drops the expired entries (lazily: on add and on listing; get() checks its own). */
  #sweep(): void {
    for (const [id, record] of this.#records) {
      if (this.#expired(record.prediction)) this.#drop(id);
    }
  }

  #drop(id: string): void {
    const record = this.#records.get(id);
    if (!record) return;
    this.#records.delete(id);
    record.release();
  }
}
