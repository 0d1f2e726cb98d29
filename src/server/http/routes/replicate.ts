// Replicate's HTTP API under /v1, enough for the official clients (the npm
// `replicate` package, the Python one) to run this server's model unchanged
// with their base URL set to http://HOST:PORT/v1 (JS) or http://HOST:PORT
// (Python): predictions (by version, model or deployment: any name serves the
// one local model), Prefer: wait, get/cancel/list, urls.stream in Replicate's
// SSE dialect, model/version lookups, and the files API. Cog's own endpoints
// are untouched. Every state decision is the service's.

import { createHash, timingSafeEqual } from "node:crypto";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { hasFileValue, jsonStream } from "../../file_value.ts";
import { type Prediction, WEBHOOK_EVENTS } from "../../prediction.ts";
import type { CreateResult, PredictionService } from "../../service.ts";
import { type Upload, UploadError, type UploadStore, type UploadWriter } from "../../uploads.ts";
import { MESSAGES } from "../../wire.ts";
import type { Json } from "../../../schema/mod.ts";
import { boundaryOf, MultipartError, readMultipart } from "../_multipart.ts";
import {
  fileObject,
  LOCAL_MODEL,
  localVersionId,
  modelObject,
  type ModelRef,
  replicateEventStream,
  replicatePrediction,
  versionObject,
} from "../replicate_shape.ts";
import { MAX_JSON_DEPTH, tooDeep } from "../schemas.ts";

/** Settings of the /v1 API. */
export interface ReplicateApiOptions {
  /** COG_API_TOKEN: when set, every /v1 request must carry it (`Bearer` or `Token`). */
  apiToken?: string;
  /** Where POST /v1/files puts files (null: the files API answers 404). */
  uploads: UploadStore | null;
  /** Request body limit, bytes (JSON bodies and each uploaded file). */
  bodyLimit: number;
  /** SSE keep-alive interval, ms (default 15 000). */
  keepAliveMs?: number;
}

/** The body of a /v1 create request (unknown fields are ignored, as Replicate does). */
const CreateSchema = z.object({
  version: z.string().max(1024).nullish(),
  input: z.record(z.string(), z.unknown()).nullish(),
  webhook: z.string().max(65536).nullish(),
  webhook_events_filter: z.array(z.enum(WEBHOOK_EVENTS)).nullish(),
});

/** Longest a Prefer: wait holds a request, seconds (Replicate's limit and default). */
const MAX_WAIT_S = 60;
/** Predictions per page of GET /v1/predictions. */
const PAGE_SIZE = 100;
const METADATA_LIMIT = 64 * 1024;

/** A Replicate-style error body. */
function problem(status: number, title: string, detail: string, extra = {}): Response {
  return Response.json({ title, detail, status, ...extra }, { status });
}

/**
 * Seconds a `Prefer` header asks to wait (`wait` = 60, `wait=N` clamped to
 * 1..60), or null when it does not ask.
 */
export function preferWait(header: string | null): number | null {
  if (!header) return null;
  for (const token of header.split(",")) {
    const match = /^\s*wait\s*(?:=\s*"?(\d{1,9})"?)?\s*$/i.exec(token.split(";")[0]);
    if (match) {
      return match[1] === undefined
        ? MAX_WAIT_S
        : Math.min(MAX_WAIT_S, Math.max(1, Number(match[1])));
    }
  }
  return null;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** True when the request may use the API: no token configured, or the right one sent. */
export function authorized(header: string | null, token: string | undefined): boolean {
  if (!token) return true;
  const match = /^\s*(?:Bearer|Token)\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return false;
  return timingSafeEqual(digest(match[1]), digest(token));
}

/** A JSON object body, or the error answer for a bad one. */
type JsonBody = { ok: true; value: Record<string, unknown> } | { ok: false; response: Response };

/** Reads a JSON object body within `limit` bytes. */
async function readJsonObject(request: Request, limit: number): Promise<JsonBody> {
  const refuse = (status: number, title: string, detail: string): JsonBody => ({
    ok: false,
    response: problem(status, title, detail),
  });
  const type = (request.headers.get("content-type") ?? "application/json").split(";")[0].trim()
    .toLowerCase();
  if (type !== "application/json" && !type.endsWith("+json")) {
    await request.body?.cancel();
    return refuse(415, "Unsupported media type", `Send application/json, not ${type}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.length;
      if (size > limit) {
        return refuse(413, "Request too large", `The body is larger than the ${limit} byte limit`);
      }
      chunks.push(chunk);
    }
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  let raw: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(all);
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    return refuse(400, "Malformed body", `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return refuse(422, "Invalid request", "The request body must be a JSON object");
  }
  if (tooDeep(raw, MAX_JSON_DEPTH)) {
    return refuse(
      422,
      "Invalid request",
      `The body is nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
  }
  return { ok: true, value: raw as Record<string, unknown> };
}

/** Registers /v1/* on the app. */
export function registerReplicateApi(
  app: OpenAPIHono,
  service: PredictionService,
  options: ReplicateApiOptions,
): void {
  /** What each /v1 prediction was asked for (dies with the prediction). */
  const refs = new WeakMap<Prediction, ModelRef>();
  const startedAt = new Date();
  const keepAliveMs = options.keepAliveMs ?? 15_000;

  const baseOf = (c: Context) => `${new URL(c.req.url).origin}/v1`;
  const localVersion = () => localVersionId(service.signature("prediction"));
  const refOf = (prediction: Prediction): ModelRef =>
    refs.get(prediction) ?? { model: LOCAL_MODEL, version: localVersion() };
  const shape = (prediction: Prediction, base: string) =>
    replicatePrediction(prediction, refOf(prediction), base, service.streaming);
  /** A /v1 prediction by id (trainings are not part of this API). */
  const find = (id: string): Prediction | undefined => {
    const prediction = service.lookup(id);
    return prediction?.kind === "prediction" ? prediction : undefined;
  };
  const notFound = () => problem(404, "Not found", "The requested resource could not be found.");

  /** JSON of predictions, streamed when outputs are kept on disk (held while streaming). */
  const respond = (predictions: Prediction[], body: unknown, status: number, headers = {}) => {
    const releases = predictions.map((p) => p.hold());
    const release = () => releases.forEach((r) => r());
    const init = { status, headers: { "content-type": "application/json", ...headers } };
    if (predictions.some((p) => hasFileValue(p.output()))) {
      return new Response(jsonStream(body, release), init);
    }
    release();
    return new Response(JSON.stringify(body), init);
  };

  app.use("/v1/*", async (c, next) => {
    if (!authorized(c.req.header("authorization") ?? null, options.apiToken)) {
      await c.req.raw.body?.cancel();
      const response = problem(
        401,
        "Unauthenticated",
        "You did not pass a valid authentication token",
      );
      response.headers.set("www-authenticate", "Bearer");
      return response;
    }
    await next();
  });

  async function create(c: Context, named: { owner: string; name: string } | null) {
    const read = await readJsonObject(c.req.raw, options.bodyLimit);
    if (!read.ok) return read.response;
    const parsed = CreateSchema.safeParse(read.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return problem(422, "Invalid request", `${issue.path.join(".") || "body"}: ${issue.message}`);
    }
    const body = parsed.data;
    let ref: ModelRef;
    const asked = body.version ?? null;
    const pinned = asked === null ? null : /^([^/\s]+\/[^/:\s]+):(.+)$/.exec(asked);
    if (named) {
      ref = { model: `${named.owner}/${named.name}`, version: asked ?? localVersion() };
    } else if (pinned) {
      ref = { model: pinned[1], version: pinned[2] };
    } else {
      ref = { model: LOCAL_MODEL, version: asked ?? localVersion() };
    }
    const result: CreateResult = service.create({
      id: null,
      input: (body.input ?? {}) as Record<string, unknown>,
      webhook: body.webhook ?? null,
      webhookEvents: body.webhook_events_filter ?? undefined,
    }, { kind: "prediction", mode: "async" });
    if (!result.ok) {
      switch (result.reason) {
        case "invalid":
          return problem(
            422,
            "Input validation failed",
            result.errors.map((e) => `- ${e.loc.join(".")}: ${e.msg}`).join("\n"),
            { invalid_fields: result.errors },
          );
        case "busy": {
          const response = problem(429, "Too many requests", MESSAGES.busy);
          response.headers.set("retry-after", "1");
          return response;
        }
        case "unavailable":
          return problem(503, "Service unavailable", MESSAGES.unavailable[result.why]);
        default:
          return problem(503, "Service unavailable", MESSAGES.unavailable.starting);
      }
    }
    const prediction = result.prediction;
    refs.set(prediction, ref);
    const base = baseOf(c);
    const location = { location: `${base}/predictions/${encodeURIComponent(prediction.id)}` };
    const wait = preferWait(c.req.header("prefer") ?? null);
    if (wait === null || prediction.isTerminal) {
      return respond([prediction], shape(prediction, base), 201, location);
    }
    // Held from now, so files the output keeps on disk outlive the wait.
    const release = prediction.hold();
    try {
      await waitUntil(prediction.terminal, wait * 1000, c.req.raw.signal);
      return respond([prediction], shape(prediction, base), 201, location);
    } finally {
      release();
    }
  }

  app.post("/v1/predictions", (c) => create(c, null));
  const named = (c: Context) => ({ owner: c.req.param("owner")!, name: c.req.param("name")! });
  app.post("/v1/models/:owner/:name/predictions", (c) => create(c, named(c)));
  app.post("/v1/deployments/:owner/:name/predictions", (c) => create(c, named(c)));

  app.get("/v1/predictions", (c) => {
    const cursor = c.req.query("cursor");
    const before = cursor !== undefined && /^\d{1,15}$/.test(cursor) ? Number(cursor) : undefined;
    const limit = Math.min(PAGE_SIZE, Math.max(1, Number(c.req.query("limit")) || PAGE_SIZE));
    const page = service.history.page({ limit, before, kind: "prediction" });
    const base = baseOf(c);
    const next = page.next === null
      ? null
      : `${base}/predictions?cursor=${page.next}${c.req.query("limit") ? `&limit=${limit}` : ""}`;
    return respond(page.items, {
      next,
      previous: null,
      results: page.items.map((p) => shape(p, base)),
    }, 200);
  });

  app.get("/v1/predictions/:id", (c) => {
    const prediction = find(c.req.param("id"));
    return prediction ? respond([prediction], shape(prediction, baseOf(c)), 200) : notFound();
  });

  app.post("/v1/predictions/:id/cancel", (c) => {
    const prediction = find(c.req.param("id"));
    if (!prediction) return notFound();
    service.cancel(prediction.id);
    return respond([prediction], shape(prediction, baseOf(c)), 200);
  });

  app.get("/v1/predictions/:id/stream", (c) => {
    const prediction = find(c.req.param("id"));
    if (!prediction) return notFound();
    if (!service.streaming) {
      return problem(406, "Not acceptable", MESSAGES.notStreaming);
    }
    return new Response(replicateEventStream(prediction, { keepAliveMs, lagLimit: 1024 }), {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });

  const latest = (id: string) => {
    const openApi = service.openApi();
    return openApi ? versionObject(id, openApi, startedAt) : null;
  };
  app.get("/v1/models/:owner/:name", (c) => {
    const { owner, name } = c.req.param();
    return c.json(modelObject(owner, name, baseOf(c), latest(localVersion())));
  });
  app.get("/v1/models/:owner/:name/versions", (c) => {
    const version = latest(localVersion());
    return c.json({ next: null, previous: null, results: version ? [version] : [] });
  });
  app.get("/v1/models/:owner/:name/versions/:version", (c) => {
    const version = latest(c.req.param("version"));
    return version
      ? c.json(version)
      : problem(503, "Service unavailable", MESSAGES.unavailable.starting);
  });

  registerFiles(app, options);
}

/** Resolves when `promise` does, after `ms`, or when `signal` aborts; never rejects. */
async function waitUntil(promise: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = () => {};
  try {
    await Promise.race([
      promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        onAbort = () => resolve();
        signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** POST/GET/DELETE /v1/files: uploads kept by the server's UploadStore. */
function registerFiles(app: OpenAPIHono, options: ReplicateApiOptions): void {
  const uploads = options.uploads;
  const unavailable = () => problem(404, "Not found", "This server has no files API");
  const find = (id: string): Upload | undefined => uploads?.get(id);

  app.post("/v1/files", async (c) => {
    if (!uploads) return unavailable();
    const type = c.req.header("content-type") ?? "";
    if (!/^multipart\/form-data\b/i.test(type) || !c.req.raw.body) {
      await c.req.raw.body?.cancel();
      return problem(415, "Unsupported media type", "Send the file as multipart/form-data");
    }
    let writer: UploadWriter | null = null;
    let finished = false;
    try {
      let field: string | null = null;
      let name = "file";
      let contentType = "application/octet-stream";
      let metadataText = "";
      const texts: Record<string, string> = {};
      for await (
        const event of readMultipart(c.req.raw.body, {
          boundary: boundaryOf(type),
          // the file may use the whole limit; the other fields get a little room
          maxBytes: options.bodyLimit + 2 * METADATA_LIMIT,
        })
      ) {
        if (event.type === "part") {
          field = event.name;
          if (field === "content") {
            if (writer) return problem(400, "Invalid request", "More than one content part");
            writer = await uploads.begin();
            name = event.filename || name;
            contentType = event.contentType?.split(";")[0].trim() || contentType;
          } else {
            texts[field] = "";
          }
          continue;
        }
        if (field === "content") {
          await writer!.write(event.bytes);
        } else if (field !== null) {
          const text = texts[field] + new TextDecoder().decode(event.bytes);
          if (text.length > METADATA_LIMIT) {
            return problem(
              400,
              "Invalid request",
              `The ${field} field is over ${METADATA_LIMIT} bytes`,
            );
          }
          texts[field] = text;
        }
      }
      if (!writer) return problem(422, "Invalid request", "The content part (the file) is missing");
      metadataText = texts.metadata ?? "";
      if (texts.filename) name = texts.filename;
      if (texts.type) contentType = texts.type;
      let metadata: Json = {};
      if (metadataText.trim() !== "") {
        try {
          metadata = JSON.parse(metadataText);
        } catch {
          return problem(422, "Invalid request", "metadata must be valid JSON");
        }
      }
      if (new TextEncoder().encode(name).length > 255) {
        return problem(422, "Invalid request", "The filename is longer than 255 bytes");
      }
      const upload = (writer as UploadWriter).finish({
        name,
        contentType,
        metadata,
        origin: new URL(c.req.url).origin,
      });
      finished = true;
      return c.json(fileObject(upload), 201);
    } catch (error) {
      if (error instanceof MultipartError || error instanceof UploadError) {
        return problem(error.status, "Invalid upload", error.message);
      }
      throw error;
    } finally {
      if (!finished) (writer as UploadWriter | null)?.abort();
    }
  });

  app.get("/v1/files", (c) => {
    if (!uploads) return unavailable();
    return c.json({ next: null, previous: null, results: uploads.list().map(fileObject) });
  });
  app.get("/v1/files/:id", (c) => {
    const upload = find(c.req.param("id"));
    return upload ? c.json(fileObject(upload)) : problem(404, "Not found", "No such file");
  });
  app.get("/v1/files/:id/download", (c) => {
    const upload = find(c.req.param("id"));
    return upload ? uploads!.open(upload) : problem(404, "Not found", "No such file");
  });
  app.delete("/v1/files/:id", (c) => {
    if (!uploads?.delete(c.req.param("id"))) return problem(404, "Not found", "No such file");
    return new Response(null, { status: 204 });
  });
}
