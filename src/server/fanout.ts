// Event fan-out: a prediction's events go to its webhook (if it asked for one)
// and to its SSE history and subscribers (streaming predictors only). Tracks
// the webhooks still being delivered so shutdown can wait for them.

import type { Prediction } from "./prediction.ts";
import { PredictionStream, type StreamOptions } from "./sse.ts";
import { WebhookDispatcher, type WebhookOptions } from "./webhook.ts";

/** Settings of the fan-out. */
export interface FanoutOptions {
  webhooks: Omit<WebhookOptions, "log">;
  stream: StreamOptions;
  log: (
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

/** What one prediction fans out to. */
export interface PredictionOutlets {
  /** The SSE stream (streaming predictors only). */
  stream: PredictionStream | null;
}

/** Connects predictions to their webhooks and SSE streams. */
export class EventFanout {
  #options: FanoutOptions;
  #webhooksInFlight = new Set<WebhookDispatcher>();

  constructor(options: FanoutOptions) {
    this.#options = options;
  }

  /**
   * Starts fanning out `prediction`'s events. `onLastSubscriberLeft` runs when
   * the last SSE subscriber leaves before the end.
   */
  connect(prediction: Prediction, options: {
    streaming: boolean;
    onLastSubscriberLeft: () => void;
  }): PredictionOutlets {
    if (prediction.webhook) {
      const dispatcher = new WebhookDispatcher(prediction, prediction.webhook, {
        ...this.#options.webhooks,
        log: (level, message) =>
          this.#options.log(level, message, { prediction_id: prediction.id }),
      });
      this.#webhooksInFlight.add(dispatcher);
      dispatcher.done.finally(() => this.#webhooksInFlight.delete(dispatcher));
    }
    // Only @streaming predictors can be subscribed to (SSE), so only they keep a stream history.
    const stream = options.streaming
      ? new PredictionStream(prediction, this.#options.stream, options.onLastSubscriberLeft)
      : null;
    return { stream };
  }

  /** Resolves true once every webhook in flight is delivered, false after `ms`. */
  async webhooksDelivered(ms: number): Promise<boolean> {
    return await withTimeout(
      Promise.all([...this.#webhooksInFlight].map((d) => d.done)),
      ms,
    );
  }

  /** Gives up on every webhook still being delivered. */
  abandonWebhooks(): void {
    for (const dispatcher of this.#webhooksInFlight) dispatcher.abort();
  }
}

/** Resolves true when `promise` settles within `ms`, else false. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
