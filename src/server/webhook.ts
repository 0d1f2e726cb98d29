// Webhook delivery for one prediction: event filter, Cog's throttle, one
// ordered queue per prediction (a pending non-terminal update is replaced by
// a newer one, so the queue stays bounded), retries with backoff for the
// terminal event, and Standard Webhooks signatures (the headers Replicate
// sends) when a secret is set. Delivery never blocks the prediction.

import { deadline, sleep } from "./_deadline.ts";
import type { Prediction, PredictionEvent, WebhookEventName } from "./prediction.ts";

/** One HTTP attempt; resolves with the status, rejects on transport errors. */
export type WebhookSender = (request: {
  url: string;
  body: string;
  headers: Record<string, string>;
  signal: AbortSignal;
}) => Promise<number>;

/** The real sender: `fetch` with redirects followed. */
export const fetchWebhookSender: WebhookSender = async ({ url, body, headers, signal }) => {
  const response = await fetch(url, { method: "POST", body, headers, signal, redirect: "follow" });
  await response.body?.cancel();
  return response.status;
};

/** Delivery settings shared by all predictions. */
export interface WebhookOptions {
  sender: WebhookSender;
  /** Minimum gap between throttled (start/logs) updates, ms (Cog: 500). */
  throttleMs: number;
  /** Sent as `Authorization: Bearer ...` when set. */
  authToken?: string;
  /** Signing key (COG_WEBHOOK_SECRET, see {@linkcode parseWebhookSecret}): adds webhook-id/-timestamp/-signature. */
  secret?: Uint8Array;
  userAgent: string;
  /** Retries of the terminal event (Cog: 12). */
  maxRetries: number;
  /** Base delay, ms: retry n waits base * 2^min(n, 10) (Cog: 100). */
  retryBaseMs: number;
  /** Per-attempt timeout, ms (Cog: 30 000). */
  timeoutMs: number;
  log: (level: "info" | "warn", message: string) => void;
  now?: () => number;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * The key bytes of a Standard Webhooks secret: `whsec_` followed by base64
 * (the prefix is optional, as in the clients' `validateWebhook`). Throws a
 * TypeError saying what is wrong.
 */
export function parseWebhookSecret(secret: string): Uint8Array {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  let key: Uint8Array | null = null;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && encoded.length % 4 === 0) {
    try {
      key = Uint8Array.fromBase64(encoded);
    } catch {
      key = null;
    }
  }
  if (!key || key.length < 16) {
    throw new TypeError(
      "COG_WEBHOOK_SECRET must be whsec_ followed by at least 16 bytes in base64 " +
        "(e.g. whsec_$(head -c 32 /dev/urandom | base64))",
    );
  }
  return key;
}

const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/**
 * The `webhook-signature` value for one attempt: `v1,` + base64 HMAC-SHA256
 * of `id.timestamp.body` (Standard Webhooks).
 */
export async function signWebhook(
  secret: Uint8Array,
  message: { id: string; timestamp: number; body: string },
): Promise<string> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      secret as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keys.set(secret, key);
  }
  const signed = new TextEncoder().encode(`${message.id}.${message.timestamp}.${message.body}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await key, signed));
  return `v1,${mac.toBase64()}`;
}

function eventName(event: PredictionEvent): WebhookEventName | null {
  switch (event.type) {
    case "start":
      return "start";
    case "output":
      return "output";
    case "log":
      return "logs";
    case "completed":
      return "completed";
    default:
      return null;
  }
}

interface Delivery {
  body: string;
  terminal: boolean;
}

/** Sends one prediction's webhooks; `done` settles after the terminal delivery. */
export class WebhookDispatcher {
  readonly done: Promise<void>;
  #prediction: Prediction;
  #options: WebhookOptions;
  #url: string;
  #lastSent = -Infinity;
  #pending: Delivery | null = null;
  #terminal: Delivery | null = null;
  #running = false;
  #resolveDone!: () => void;
  #abort = new AbortController();
  #unsubscribe: () => void;

  constructor(prediction: Prediction, url: string, options: WebhookOptions) {
    this.#prediction = prediction;
    this.#options = options;
    this.#url = url;
    // Cog starts 10 s in the past; -Infinity keeps its promise that the first
    // update (start) is always sent, even with an interval over 10 s.
    this.done = new Promise((resolve) => this.#resolveDone = resolve);
    this.#unsubscribe = prediction.onEvent((event) => this.#onEvent(event));
  }

  #now(): number {
    return this.#options.now ? this.#options.now() : Date.now();
  }

  /** Gives up on everything not yet delivered (used after a drain timeout). */
  abort(): void {
    this.#abort.abort();
    this.#unsubscribe();
    this.#resolveDone();
  }

  #onEvent(event: PredictionEvent): void {
    const name = eventName(event);
    if (name === null) return;
    const wanted = this.#prediction.webhookEvents.includes(name);
    if (name === "completed") {
      if (wanted) {
        this.#terminal = { body: JSON.stringify(this.#prediction.toResponse()), terminal: true };
        this.#pending = null;
        this.#pump();
      } else if (!this.#running) {
        this.#resolveDone();
      } else {
        this.#terminal = null;
      }
      return;
    }
    if (!wanted) return;
    const now = this.#now();
    if (name !== "output" && now - this.#lastSent < this.#options.throttleMs) return;
    this.#lastSent = now;
    this.#pending = { body: JSON.stringify(this.#prediction.toResponse()), terminal: false };
    this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (!this.#abort.signal.aborted) {
        const next = this.#pending ?? this.#terminal;
        if (!next) break;
        if (next === this.#pending) this.#pending = null;
        else this.#terminal = null;
        await this.#deliver(next);
        if (next.terminal) {
          this.#resolveDone();
          return;
        }
      }
      if (this.#prediction.isTerminal && !this.#terminal) this.#resolveDone();
    } finally {
      this.#running = false;
    }
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": this.#options.userAgent,
      ...this.#prediction.traceHeaders,
    };
    if (this.#options.authToken) headers.authorization = `Bearer ${this.#options.authToken}`;
    // One id per delivery: its retries keep it, so receivers can drop duplicates.
    const webhookId = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
    const attempts = delivery.terminal ? this.#options.maxRetries + 1 : 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (this.#abort.signal.aborted) return;
      if (attempt > 0) {
        const delay = this.#options.retryBaseMs * 2 ** Math.min(attempt, 10);
        await sleep(delay, this.#abort.signal);
      }
      if (this.#options.secret) {
        const timestamp = Math.floor(this.#now() / 1000);
        headers["webhook-id"] = webhookId;
        headers["webhook-timestamp"] = String(timestamp);
        headers["webhook-signature"] = await signWebhook(this.#options.secret, {
          id: webhookId,
          timestamp,
          body: delivery.body,
        });
      }
      let outcome: string;
      const limit = deadline(this.#options.timeoutMs, this.#abort.signal);
      try {
        const status = await this.#options.sender({
          url: this.#url,
          body: delivery.body,
          headers: { ...headers },
          signal: limit.signal,
        });
        if (status >= 200 && status < 300) return;
        outcome = `HTTP ${status}`;
        if (!RETRY_STATUSES.has(status)) {
          this.#options.log("warn", `webhook for ${this.#prediction.id} rejected: ${outcome}`);
          return;
        }
      } catch (error) {
        outcome = error instanceof Error ? error.message : String(error);
      } finally {
        limit.clear();
      }
      const last = attempt === attempts - 1;
      this.#options.log(
        "warn",
        `webhook for ${this.#prediction.id} failed (${outcome})${
          last ? (delivery.terminal ? "; giving up" : "") : "; retrying"
        }`,
      );
    }
  }
}
