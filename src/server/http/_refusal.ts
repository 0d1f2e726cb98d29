// A refused create as Cog's HTTP API answers it: one table for POST/PUT
// /predictions (app.ts) and the WebSocket's error event (websocket.ts), so the
// two can never disagree. (Replicate's /v1 has its own problem+json dialect.)

import type { CreateRefusal } from "../service.ts";
import { MESSAGES } from "../wire.ts";

/** The HTTP status and JSON body of a refused create. */
export interface RefusalAnswer {
  status: 404 | 406 | 409 | 422 | 503;
  body: Record<string, unknown>;
}

/** Cog's answer to a refused create. */
export function refusalAnswer(refusal: CreateRefusal): RefusalAnswer {
  switch (refusal.reason) {
    case "unavailable":
      return { status: 503, body: { error: MESSAGES.unavailable[refusal.why], status: "failed" } };
    case "busy":
      return { status: 409, body: { error: MESSAGES.busy, status: "failed" } };
    case "invalid":
      return { status: 422, body: { detail: refusal.errors } };
    case "not_streaming":
      return { status: 406, body: { error: MESSAGES.notStreaming } };
    case "no_training":
      return { status: 404, body: { error: MESSAGES.noTraining } };
    case "duplicate":
      return {
        status: 409,
        body: { error: MESSAGES.duplicate(refusal.prediction.id), status: "failed" },
      };
  }
}
