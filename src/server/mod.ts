// The prediction server: the face other folders import. The service owns
// predictions, slots and health (lifecycle.ts owns each prediction's status);
// http/ puts Cog's HTTP protocol on it.

export { createApp } from "./http/app.ts";
export type { AppOptions } from "./http/app.ts";
export { PredictionService } from "./service.ts";
export type {
  CreateRefusal,
  CreateRequest,
  CreateResult,
  HealthReport,
  HealthStatus,
  ServiceObserver,
  ServiceOptions,
} from "./service.ts";
export type { Prediction, PredictionResponse, PredictionStatus } from "./prediction.ts";
export { createLogger } from "./log.ts";
export type { Logger } from "./log.ts";
export { fetchWebhookSender } from "./webhook.ts";
export type { WebhookSender } from "./webhook.ts";
export {
  dataUrlNameParam,
  decodeDataUrl,
  DEFAULT_MAX_OUTPUT_FILE_BYTES,
  proxySettingsFromEnv,
} from "./files.ts";
export { DEFAULT_BODY_TIMEOUT_MS } from "./http/schemas.ts";
export { createServerTempDir } from "./temp_dir.ts";
export { UploadStore } from "./uploads.ts";
export { parseWebhookSecret } from "./webhook.ts";
export { extensionForMime, mimeForName } from "./_mime.ts";
export { COG_VERSION } from "./wire.ts";
