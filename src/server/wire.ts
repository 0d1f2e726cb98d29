// Cog wire strings and constants: status texts and error bodies clients match
// on, defined once.

/** The Cog version we are compatible with (discovery document, health, OpenAPI). */
export const COG_VERSION = "0.22.0";

/** How a Secret input is echoed. */
export const SECRET_MASK = "**********";

/** Error texts of the HTTP API. */
export const MESSAGES = {
  /** 503 bodies, by why the server cannot take a prediction (health.ts `Unavailable`). */
  unavailable: {
    starting:
      "Setup has not finished yet. Wait until it has finished, or GET /health-check for status.",
    setup_failed:
      "Setup failed, so this server cannot run predictions. GET /health-check for the error, fix it and restart.",
    defunct:
      "The worker crashed repeatedly and the server gave up (DEFUNCT). GET /health-check for the reason; restart the server.",
    shutting_down: "The server is shutting down",
  },
  busy: "At capacity - all prediction slots busy",
  notStreaming:
    "This model does not support streaming responses. Add @cog.streaming to predict() to enable SSE.",
  trainingNotStreaming: "Training endpoints do not support streaming responses.",
  tooManySubscribers: "Too many stream subscribers",
  notFound: "Prediction not found",
  noTraining: "This model has no train: entry in cog.yaml, so it has no training endpoints.",
  schemaUnavailable: "OpenAPI schema not available",
  idMismatch: (kind: string) => `${kind} ID must match the ID supplied in the URL`,
  duplicate: (id: string) =>
    `A prediction with id "${id}" is already running; use PUT /predictions/${id} to attach to it`,
} as const;
