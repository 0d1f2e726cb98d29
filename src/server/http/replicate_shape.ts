// Replicate's HTTP API shapes, built from this server's state: the prediction
// object (urls, model, version, metrics), the model and version objects the
// clients fetch, the file object, and the SSE stream dialect of urls.stream
// (events output, logs, error, done, each with an id). Pure: no routing here.

import { createHash } from "node:crypto";
import type { Json, Signature } from "../../schema/mod.ts";
import { FileValue, type OutputValue } from "../file_value.ts";
import type { Prediction, PredictionEvent } from "../prediction.ts";
import type { Upload } from "../uploads.ts";
import { COG_VERSION } from "../wire.ts";

/** The model name given to predictions that named none (a version-only request, or Cog's API). */
export const LOCAL_MODEL = "local/model";

/** What a /v1 request named; kept beside the prediction for its later reads. */
export interface ModelRef {
  model: string;
  version: string;
}

const versionIds = new WeakMap<Signature, string>();

/**
 * This model's version id: the SHA-256 (hex, like Replicate's) of its
 * signature, so it changes exactly when the API does.
 */
export function localVersionId(signature: Signature | null): string {
  if (!signature) return "0".repeat(64);
  let id = versionIds.get(signature);
  if (!id) {
    id = createHash("sha256").update(JSON.stringify(signature)).digest("hex");
    versionIds.set(signature, id);
  }
  return id;
}

/** A Replicate version object. */
export function versionObject(
  id: string,
  openApi: Record<string, unknown> | null,
  createdAt: Date,
): Record<string, unknown> {
  return {
    id,
    created_at: createdAt.toISOString(),
    cog_version: COG_VERSION,
    openapi_schema: openApi ?? {},
  };
}

/** A Replicate model object for `owner/name`, whose latest version is the local one. */
export function modelObject(
  owner: string,
  name: string,
  base: string,
  latest: Record<string, unknown> | null,
): Record<string, unknown> {
  return {
    url: `${base}/models/${owner}/${name}`,
    owner,
    name,
    description: "The model this cog server runs",
    visibility: "private",
    github_url: null,
    paper_url: null,
    license_url: null,
    run_count: 0,
    cover_image_url: null,
    default_example: null,
    latest_version: latest,
  };
}

/**
 * The prediction as Replicate's API shows it. `base` is this server's /v1
 * URL; `stream` says whether urls.stream is offered (streaming predictors).
 */
export function replicatePrediction(
  prediction: Prediction,
  ref: ModelRef,
  base: string,
  stream: boolean,
): Record<string, unknown> {
  const state = prediction.toResponse();
  const get = `${base}/predictions/${encodeURIComponent(prediction.id)}`;
  const urls: Record<string, string> = { get, cancel: `${get}/cancel` };
  if (stream) urls.stream = `${get}/stream`;
  const metrics: Record<string, Json> = { ...state.metrics };
  if (prediction.completedAt) {
    metrics.total_time = (prediction.completedAt.getTime() - prediction.createdAt.getTime()) /
      1000;
  }
  const body: Record<string, unknown> = {
    id: prediction.id,
    model: ref.model,
    version: ref.version,
    input: state.input,
    logs: state.logs,
    output: state.output,
    data_removed: false,
    error: state.error,
    status: state.status,
    created_at: state.created_at,
    started_at: state.started_at,
    completed_at: state.completed_at,
    urls,
    metrics,
    source: "api",
  };
  if (state.webhook) {
    body.webhook = state.webhook;
    body.webhook_events_filter = state.webhook_events_filter;
  }
  return body;
}

/** A Replicate file object. */
export function fileObject(upload: Upload): Record<string, unknown> {
  const get = `${upload.origin}/v1/files/${upload.id}`;
  return {
    id: upload.id,
    name: upload.name,
    content_type: upload.contentType,
    size: upload.size,
    etag: upload.md5,
    checksums: { sha256: upload.sha256, md5: upload.md5 },
    metadata: upload.metadata,
    created_at: upload.createdAt.toISOString(),
    expires_at: upload.expiresAt.toISOString(),
    urls: { get, download: `${get}/download` },
  };
}

/** Options of {@linkcode replicateEventStream}. */
export interface EventStreamOptions {
  /** Keep-alive comment interval, ms. */
  keepAliveMs: number;
  /** Events a slow reader may fall behind before it gets an error and is dropped. */
  lagLimit: number;
}

const encoder = new TextEncoder();

/** The text of one output chunk: strings as they are, anything else as JSON. */
function chunkText(chunk: OutputValue): string {
  if (typeof chunk === "string") return chunk;
  if (chunk instanceof FileValue) return chunk.toJSON();
  return JSON.stringify(chunk);
}

/** The output chunks a prediction produced so far, in order. */
function chunksOf(prediction: Prediction): OutputValue[] {
  if (prediction.outputCount === 0) return [];
  // A list while running (and for list/iterator outputs); a single output unwrapped.
  const output = prediction.output();
  return Array.isArray(output) ? output : [output];
}

/**
 * A prediction as Replicate's SSE stream: what happened so far (the log
 * lines, then the output chunks: the prediction's state, so nothing is ever
 * truncated), then live events until `done`. Leaving it changes nothing
 * about the prediction.
 */
export function replicateEventStream(
  prediction: Prediction,
  options: EventStreamOptions,
): ReadableStream<Uint8Array> {
  let unsubscribe: (() => void) | null = null;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  let seq = 0;
  const stop = () => {
    closed = true;
    unsubscribe?.();
    unsubscribe = null;
    clearInterval(keepAlive);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: string) => {
        if (closed) return;
        // Every event carries an id: the Python client drops events without one.
        const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join("");
        controller.enqueue(encoder.encode(`event: ${event}\nid: ${seq++}\n${lines}\n`));
      };
      const finish = () => {
        if (closed) return;
        if (prediction.status === "failed") {
          send("error", JSON.stringify({ detail: prediction.toResponse().error }));
          send("done", JSON.stringify({ reason: "error" }));
        } else if (prediction.status === "canceled") {
          send("done", JSON.stringify({ reason: "canceled" }));
        } else {
          send("done", "{}");
        }
        stop();
        controller.close();
      };
      // One logs event per line (a replay cannot tell where the chunks were).
      const sendLogs = (text: string) => {
        for (const line of text.replace(/\n$/, "").split("\n")) send("logs", line);
      };
      const logs = prediction.logs();
      if (logs) sendLogs(logs);
      for (const chunk of chunksOf(prediction)) send("output", chunkText(chunk));
      if (prediction.isTerminal) {
        finish();
        return;
      }
      unsubscribe = prediction.onEvent((event: PredictionEvent) => {
        if ((controller.desiredSize ?? 0) <= -options.lagLimit) {
          send("error", JSON.stringify({ detail: "The stream lagged; events were dropped" }));
          stop();
          controller.close();
          return;
        }
        switch (event.type) {
          case "output":
            send("output", chunkText(event.chunk));
            return;
          case "log":
            sendLogs(event.data);
            return;
          case "completed":
            finish();
            return;
        }
      });
      keepAlive = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(": keep-alive\n\n"));
      }, options.keepAliveMs);
    },
    cancel() {
      stop();
    },
  }, { highWaterMark: 0, size: () => 1 });
}
