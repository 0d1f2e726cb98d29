// Server-Sent Events for one prediction: a bounded replay history, live
// subscribers, keep-alive comments, Cog's truncation/lag errors, and a hook
// when the last subscriber leaves (the service cancels SSE-created predictions).

import type { Prediction, PredictionEvent } from "./prediction.ts";

/** Limits for one prediction's stream. */
export interface StreamOptions {
  /** Events kept for late subscribers (COG_STREAM_HISTORY_CAPACITY, default 1024; 0 = none). */
  historyCapacity: number;
  /** Concurrent subscribers allowed (default 1024). */
  maxSubscribers: number;
  /** Events a slow subscriber may fall behind before it is dropped (default 1024). */
  lagLimit: number;
  /** Keep-alive comment interval, ms (default 15 000). */
  keepAliveMs: number;
}

interface Frame {
  event: string;
  data: unknown;
}

interface Subscriber {
  controller: ReadableStreamDefaultController<Uint8Array>;
  backlog: number;
  keepAlive: ReturnType<typeof setInterval> | undefined;
  closed: boolean;
}

const encoder = new TextEncoder();

function frameBytes(frame: Frame): Uint8Array {
  return encoder.encode(`event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`);
}

/** The SSE fan-out of one prediction. */
export class PredictionStream {
  #prediction: Prediction;
  #options: StreamOptions;
  #history: Frame[] = [];
  #dropped = 0;
  #subscribers = new Set<Subscriber>();
  #completed = false;
  #onLastLeave: () => void;

  constructor(prediction: Prediction, options: StreamOptions, onLastLeave: () => void) {
    this.#prediction = prediction;
    this.#options = options;
    this.#onLastLeave = onLastLeave;
    prediction.onEvent((event) => this.#onEvent(event));
  }

  /** Connected subscribers. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  #toFrame(event: PredictionEvent): Frame {
    switch (event.type) {
      case "start":
        return { event: "start", data: { id: this.#prediction.id, status: "processing" } };
      case "output":
        return { event: "output", data: { chunk: event.chunk, index: event.index } };
      case "log":
        return { event: "log", data: { source: event.source, data: event.data } };
      case "metric":
        return {
          event: "metric",
          data: { name: event.name, value: event.value, mode: event.mode },
        };
      case "completed":
        return { event: "completed", data: this.#prediction.toResponse() };
    }
  }

  #onEvent(event: PredictionEvent): void {
    const frame = this.#toFrame(event);
    if (this.#options.historyCapacity > 0) {
      this.#history.push(frame);
      if (this.#history.length > this.#options.historyCapacity) {
        this.#history.shift();
        this.#dropped++;
      }
    } else {
      this.#dropped++;
    }
    if (event.type === "completed") this.#completed = true;
    const bytes = frameBytes(frame);
    for (const subscriber of [...this.#subscribers]) {
      this.#send(subscriber, bytes);
      if (this.#completed) this.#close(subscriber, false);
    }
  }

  #send(subscriber: Subscriber, bytes: Uint8Array): void {
    if (subscriber.closed) return;
    const desired = subscriber.controller.desiredSize ?? 0;
    if (desired <= -this.#options.lagLimit) {
      subscriber.controller.enqueue(frameBytes({
        event: "error",
        data: { error: "SSE stream lagged; events were dropped", skipped: -desired },
      }));
      this.#close(subscriber, true);
      return;
    }
    subscriber.controller.enqueue(bytes);
  }

  #close(subscriber: Subscriber, notify: boolean): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    clearInterval(subscriber.keepAlive);
    this.#subscribers.delete(subscriber);
    try {
      subscriber.controller.close();
    } catch {
      // already closed by the client
    }
    if (notify && this.#subscribers.size === 0 && !this.#completed) this.#onLastLeave();
  }

  /**
   * Opens a subscriber stream: history first (or the truncation error), then
   * live events until `completed`. Returns null when the subscriber limit is
   * reached.
   */
  openSubscriber(): ReadableStream<Uint8Array> | null {
    if (this.#subscribers.size >= this.#options.maxSubscribers) return null;
    let self: Subscriber | null = null;
    // Each event counts as one chunk of backlog (see #send's lag check).
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const subscriber: Subscriber = {
          controller,
          backlog: 0,
          keepAlive: undefined,
          closed: false,
        };
        self = subscriber;
        if (this.#options.historyCapacity > 0 && this.#dropped > 0) {
          controller.enqueue(frameBytes({
            event: "error",
            data: {
              error: "SSE stream replay truncated; events were dropped",
              skipped: this.#dropped,
            },
          }));
          subscriber.closed = true;
          controller.close();
          return;
        }
        for (const frame of this.#history) controller.enqueue(frameBytes(frame));
        if (this.#completed) {
          if (this.#options.historyCapacity === 0) {
            controller.enqueue(
              frameBytes({ event: "completed", data: this.#prediction.toResponse() }),
            );
          }
          subscriber.closed = true;
          controller.close();
          return;
        }
        subscriber.keepAlive = setInterval(() => {
          if (!subscriber.closed) controller.enqueue(encoder.encode(": keep-alive\n\n"));
        }, this.#options.keepAliveMs);
        this.#subscribers.add(subscriber);
      },
      cancel: () => {
        if (self) this.#close(self, true);
      },
    }, { highWaterMark: 0, size: () => 1 });
  }
}
