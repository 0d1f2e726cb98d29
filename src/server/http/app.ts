// The Hono app: Cog's HTTP protocol over a PredictionService. Handlers are
// thin; every state decision is the service's. Only this folder imports Hono.

import { OpenAPIHono } from "@hono/zod-openapi";
import type { PredictionService } from "../service.ts";
import type { Prediction, RequestMode } from "../prediction.ts";
import { hasFileValue, jsonStream } from "../file_value.ts";
import { MetricsRegistry } from "../prometheus.ts";
import { COG_VERSION, MESSAGES } from "../wire.ts";
import { BodyError, DEFAULT_BODY_LIMIT, readCreateBody } from "./schemas.ts";
import { registerUiRoutes } from "./routes/ui.ts";
import { registerServerApi } from "./routes/server_api.ts";
import { registerPredictionReads } from "./routes/prediction_reads.ts";
import { registerReplicateApi } from "./routes/replicate.ts";
import type { UploadStore } from "../uploads.ts";
import { createOriginCheck } from "./_origin.ts";
import { refusalAnswer } from "./_refusal.ts";

/** Dependencies of the HTTP app. */
export interface AppOptions {
  /** Called once when /shutdown is requested. */
  onShutdown: () => void;
  /** Request body limit in bytes (default 100 MiB). */
  bodyLimit?: number;
  /** Time for a create body to arrive, ms (COG_HTTP_REQUEST_TIMEOUT); none when unset. */
  bodyTimeoutMs?: number;
  /** Origins other than the server's own allowed to POST/PUT (COG_ALLOWED_ORIGINS). */
  allowedOrigins?: readonly string[];
  log?: (level: "info" | "warn" | "error", message: string) => void;
  /** Files of the /v1 files API (the same store resolves their URLs as inputs). */
  uploads?: UploadStore;
  /** COG_API_TOKEN: required on /v1 when set. */
  apiToken?: string;
}

type Kind = "prediction" | "training";

const TRACE_HEADERS = ["traceparent", "tracestate"] as const;
const JSON_HEADERS: Readonly<Record<string, string>> = { "content-type": "application/json" };

/** Builds the app for a service. */
export function createApp(service: PredictionService, options: AppOptions): OpenAPIHono {
  const app = new OpenAPIHono();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = options.log ?? (() => {});
  const bodyOptions = { limit: bodyLimit, timeoutMs: options.bodyTimeoutMs };
  const checkOrigin = createOriginCheck({ allowedOrigins: options.allowedOrigins });

  const onError = (error: Error, method: string, path: string): Response => {
    if (error instanceof BodyError) return error.toResponse();
    log("error", `unhandled error on ${method} ${path}: ${error.stack ?? error}`);
    return json({ error: "Internal server error" }, 500);
  };
  app.onError((error, c) => onError(error, c.req.method, c.req.path));
  // FastAPI's (Cog's) bodies, so every 4xx carries a message.
  app.notFound((c) => c.json({ detail: "Not Found" }, 404));
  // Before every route: a web page must not drive the server (403).
  app.use(async (c, next) => checkOrigin(c.req.raw) ?? await next());

  registerUiRoutes(app);
  app.get("/", (c) => c.json(discovery(service)));
  app.get("/openapi.json", (c) => {
    const doc = service.openApi();
    return doc ? c.json(doc) : c.json({ error: MESSAGES.schemaUnavailable }, 503);
  });
  registerServerApi(app, service, new MetricsRegistry(service), options.onShutdown);
  registerPredictionReads(app, service, { bodyLimit });
  registerReplicateApi(app, service, {
    apiToken: options.apiToken,
    uploads: options.uploads ?? null,
    bodyLimit,
  });

  for (
    const [kind, base] of [["prediction", "/predictions"], ["training", "/trainings"]] as const
  ) {
    app.post(base, (c) => create(c.req.raw, kind, null));
    app.put(`${base}/:id`, (c) => create(c.req.raw, kind, c.req.param("id")));
    for (const path of [base, `${base}/:id`, `${base}/:id/cancel`]) {
      app.all(path, (c) => c.json({ detail: "Method Not Allowed" }, 405));
    }
  }
  for (const path of ["/", "/health-check", "/openapi.json", "/shutdown", "/metrics"]) {
    app.all(path, (c) => c.json({ detail: "Method Not Allowed" }, 405));
  }

  async function create(request: Request, kind: Kind, pathId: string | null): Promise<Response> {
    const mode = requestMode(request);
    if (kind === "training" && !service.hasTraining) {
      await request.body?.cancel();
      return json({ error: MESSAGES.noTraining }, 404);
    }
    if (mode === "sse" && kind === "training") {
      await request.body?.cancel();
      return json({ error: MESSAGES.trainingNotStreaming }, 406);
    }
    const body = await readCreateBody(request, bodyOptions);
    if (pathId !== null) {
      if (body.id && body.id !== pathId) {
        return json({
          detail: [{
            loc: ["body", "id"],
            msg: MESSAGES.idMismatch(kind === "training" ? "training" : "prediction"),
            type: "value_error",
          }],
        }, 422);
      }
      const live = service.get(pathId);
      if (live) return attach(live, mode);
    }
    const traceHeaders: Record<string, string> = {};
    for (const name of TRACE_HEADERS) {
      const value = request.headers.get(name);
      if (value) traceHeaders[name] = value;
    }
    const result = service.create({
      id: pathId ?? body.id ?? null,
      input: (body.input ?? {}) as Record<string, unknown>,
      webhook: body.webhook ?? null,
      webhookEvents: body.webhook_events_filter,
      context: body.context ?? {},
      traceHeaders,
    }, { kind, mode });
    if (!result.ok) {
      // PUT of an id in flight attaches to it; anything else refused is answered as Cog does.
      if (result.reason === "duplicate" && pathId !== null) return attach(result.prediction, mode);
      const { status, body } = refusalAnswer(result);
      return json(body, status);
    }
    const prediction = result.prediction;
    if (mode === "async") return json(prediction.toResponse(), 202);
    if (mode === "sse") return sse(prediction);
    const release = prediction.hold();
    const signal = request.signal;
    const onAbort = () => service.cancel(prediction.id, "client_gone");
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await prediction.terminal;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    const response = prediction.toResponse();
    if (hasFileValue(response.output)) {
      // Large file outputs stream from disk as base64, never whole in memory.
      return new Response(jsonStream(response, release), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    }
    release();
    return json(response, 200);
  }

  function attach(prediction: Prediction, mode: RequestMode): Response {
    if (mode === "sse") {
      if (!service.streaming) return json({ error: MESSAGES.notStreaming }, 406);
      return sse(prediction);
    }
    return json(prediction.toResponse(), 202);
  }

  function sse(prediction: Prediction): Response {
    const stream = service.openEventStream(prediction.id);
    if (stream === "not_found") return json({ error: MESSAGES.notFound }, 404);
    if (stream === "too_many") return json({ error: MESSAGES.tooManySubscribers }, 429);
    return new Response(stream, {
      status: 200,
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  }

  return app;
}

/** What Hono's c.json makes, minus its Headers bookkeeping. */
function json(value: unknown, status: number): Response {
  return new Response(JSON.stringify(value), { status, headers: JSON_HEADERS });
}

/** SSE if Accept has text/event-stream; async if Prefer is exactly respond-async; else sync. */
export function requestMode(request: Request): RequestMode {
  const accept = request.headers.get("accept") ?? "";
  if (accept.split(",").some((part) => part.split(";")[0].trim() === "text/event-stream")) {
    return "sse";
  }
  if (request.headers.get("prefer") === "respond-async") return "async";
  return "sync";
}

/** The discovery document served at GET /. */
export function discovery(service: PredictionService): Record<string, string> {
  const doc: Record<string, string> = {
    cog_version: COG_VERSION,
    docs_url: "/docs",
    openapi_url: "/openapi.json",
    shutdown_url: "/shutdown",
    healthcheck_url: "/health-check",
    predictions_url: "/predictions",
    predictions_idempotent_url: "/predictions/{prediction_id}",
    predictions_cancel_url: "/predictions/{prediction_id}/cancel",
  };
  if (service.hasTraining) {
    doc.trainings_url = "/trainings";
    doc.trainings_idempotent_url = "/trainings/{training_id}";
    doc.trainings_cancel_url = "/trainings/{training_id}/cancel";
  }
  return doc;
}
