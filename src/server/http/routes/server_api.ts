// The server's own endpoints (health, cancel, shutdown, metrics) declared with
// @hono/zod-openapi: their parameters are validated from the same zod schemas
// that document them at GET /_cog/openapi.json. (The model's /openapi.json is
// Cog's document, derived from the predictor's signature in src/schema/.)

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { PredictionService } from "../../service.ts";
import type { MetricsRegistry } from "../../prometheus.ts";
import { COG_VERSION } from "../../wire.ts";

const SetupSchema = z.object({
  started_at: z.string().openapi({ format: "date-time" }),
  completed_at: z.string().optional().openapi({ format: "date-time" }),
  status: z.enum(["starting", "succeeded", "failed"]),
  logs: z.string().optional(),
});

/** The /health-check body, with this server's additions (queue, defunct_reason). */
export const HealthReportSchema = z.object({
  status: z.enum([
    "UNKNOWN",
    "STARTING",
    "READY",
    "BUSY",
    "SETUP_FAILED",
    "DEFUNCT",
    "UNHEALTHY",
    "SHUTTING_DOWN",
  ]),
  setup: SetupSchema.optional(),
  version: z.record(z.string(), z.string()),
  user_healthcheck_error: z.string().optional(),
  queue: z.object({ depth: z.number().int(), capacity: z.number().int() }).optional()
    .openapi({ description: "Only with COG_QUEUE_SIZE > 0." }),
  defunct_reason: z.string().optional(),
}).openapi("HealthReport");

const Empty = z.object({}).openapi("Empty");

const healthRoute = createRoute({
  method: "get",
  path: "/health-check",
  summary: "Health and setup state (200; 503 once shutdown began, for readiness probes)",
  responses: {
    200: { description: "Health", content: { "application/json": { schema: HealthReportSchema } } },
    503: {
      description: "SHUTTING_DOWN: the server is draining and takes no new predictions",
      content: { "application/json": { schema: HealthReportSchema } },
    },
  },
});

const shutdownRoute = createRoute({
  method: "post",
  path: "/shutdown",
  summary: "Begin a graceful shutdown (running predictions finish)",
  responses: {
    200: { description: "Shutting down", content: { "application/json": { schema: Empty } } },
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics of the server",
  responses: {
    200: { description: "Exposition format", content: { "text/plain": { schema: z.string() } } },
  },
});

function cancelRoute(base: "/predictions" | "/trainings") {
  return createRoute({
    method: "post",
    path: `${base}/{id}/cancel`,
    summary: "Cancel an in-flight prediction (idempotent)",
    request: {
      params: z.object({ id: z.string().min(1).openapi({ param: { name: "id", in: "path" } }) }),
    },
    responses: {
      200: { description: "Cancel requested", content: { "application/json": { schema: Empty } } },
      404: {
        description: "Unknown or finished id",
        content: { "application/json": { schema: Empty } },
      },
    },
  });
}

/** Registers the server endpoints on an OpenAPIHono app. */
export function registerServerApi(
  app: OpenAPIHono,
  service: PredictionService,
  metrics: MetricsRegistry,
  onShutdown: () => void,
): void {
  app.openapi(healthRoute, async (c) => {
    const report = await service.health();
    // Cog answers 200 in every state; a draining server answers 503 so that
    // readiness probes and load balancers stop sending it traffic.
    return report.status === "SHUTTING_DOWN" ? c.json(report, 503) : c.json(report, 200);
  });
  app.openapi(shutdownRoute, (c) => {
    onShutdown();
    return c.json({}, 200);
  });
  app.openapi(metricsRoute, (c) => {
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(metrics.render(), 200) as never;
  });
  for (const base of ["/predictions", "/trainings"] as const) {
    app.openapi(cancelRoute(base), (c) => {
      const { id } = c.req.valid("param");
      return service.cancel(id) ? c.json({}, 200) : c.json({}, 404);
    });
  }
  app.doc("/_cog/openapi.json", {
    openapi: "3.0.2",
    info: {
      title: "cog server",
      version: COG_VERSION,
      description:
        "The server's own endpoints. The model's API (predictions, trainings) is at /openapi.json.",
    },
  });
}
