// GET on Cog's prediction paths: the current state of any prediction the
// server has seen (GET /predictions/{id}, GET /trainings/{id}; running, or
// ended and retained), and the WebSocket endpoints (GET /predictions and
// GET /predictions/{id} with Upgrade: websocket). Register before the 405
// catch-alls of these paths.

import type { OpenAPIHono } from "@hono/zod-openapi";
import { hasFileValue, jsonStream } from "../../file_value.ts";
import type { PredictionService } from "../../service.ts";
import { isWebSocketUpgrade, serveWebSocket, type WebSocketOptions } from "../websocket.ts";

const JSON_HEADERS = { "content-type": "application/json" };

/** Registers the GET routes of /predictions and /trainings. */
export function registerPredictionReads(
  app: OpenAPIHono,
  service: PredictionService,
  options: WebSocketOptions,
): void {
  app.get("/predictions", (c) => {
    if (isWebSocketUpgrade(c.req.raw)) return serveWebSocket(c.req.raw, service, null, options);
    return c.json({ detail: "Method Not Allowed" }, 405);
  });
  for (
    const [kind, base] of [["prediction", "/predictions"], ["training", "/trainings"]] as const
  ) {
    app.get(`${base}/:id`, (c) => {
      const id = c.req.param("id");
      if (kind === "prediction" && isWebSocketUpgrade(c.req.raw)) {
        return serveWebSocket(c.req.raw, service, { id }, options);
      }
      const prediction = service.lookup(id);
      if (!prediction || prediction.kind !== kind) return c.json({ detail: "Not Found" }, 404);
      const release = prediction.hold();
      const body = prediction.toResponse();
      if (hasFileValue(body.output)) {
        // A large file output streams from disk, as in the sync response.
        return new Response(jsonStream(body, release), { status: 200, headers: JSON_HEADERS });
      }
      release();
      return new Response(JSON.stringify(body), { status: 200, headers: JSON_HEADERS });
    });
  }
}
