// Runs the prediction server for a project (the no-Docker mode, and the
// container entrypoint): config -> service -> Hono app on Deno.serve, with
// signal handling and graceful shutdown.

import { loadConfig } from "../config/mod.ts";
import { environmentOverlay, isImageEnvironment, QUIET_STARTUP_VAR } from "./_env.ts";
import { readSecuritySettings } from "./_security_settings.ts";
import { watchProject } from "./_watch.ts";
import {
  COG_VERSION,
  createApp,
  createLogger,
  createServerTempDir,
  fetchWebhookSender,
  type Logger,
  parseWebhookSecret,
  PredictionService,
  proxySettingsFromEnv,
  UploadStore,
} from "../server/mod.ts";
import { createPythonWorkerSpawner, type WorkerSpawner } from "../worker/mod.ts";

/** Options for {@linkcode startServer}. */
export interface ServerOptions {
  /** Directory to look for cog.yaml from (upwards). */
  cwd: string;
  /** Config file name (-f). */
  configFile?: string;
  port: number;
  host: string;
  uploadUrl?: string;
  /** Only /shutdown and SIGINT stop the server (SIGTERM ignored). */
  awaitExplicitShutdown?: boolean;
  /** Cog's --x-mode: "train" runs train() for every request. */
  mode?: "predict" | "train";
  /** `-e NAME=VALUE` values: over cog.yaml `environment:`, for the server's settings and the worker. */
  env?: Record<string, string>;
  /**
   * The shell environment the COG_* settings start from (default: the process env); cog.yaml
   * `environment:` and then {@linkcode env} are laid over it, as inside the image.
   */
  settings?: Record<string, string | undefined>;
  /**
   * Log cog.yaml's warnings (default: yes, unless COG_QUIET_STARTUP is set: the CLI that
   * started this server already printed them).
   */
  configWarnings?: boolean;
  /** Install SIGINT/SIGTERM handlers (the CLI does; in-process tests do not). */
  handleSignals?: boolean;
  spawnWorker?: WorkerSpawner;
  logger?: Logger;
  /** Hot reload on .py / cog.yaml changes (--watch). */
  watch?: boolean;
  /** Called with the bound address once listening. */
  onListen?: (address: { hostname: string; port: number }) => void;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly service: PredictionService;
  /** COG_QUIET_STARTUP was set: no "Serving at" banner (the host CLI shows its own address). */
  readonly quiet: boolean;
  /** Graceful shutdown; resolves when everything is stopped. */
  shutdown(): Promise<void>;
  /** Resolves with the exit code once the server stopped for any reason. */
  readonly finished: Promise<number>;
}

function envNumber(value: string | undefined): number | null {
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Reads the runtime settings Cog reads from the environment. */
export function readSettings(env: Record<string, string | undefined>) {
  const concurrencyRaw = envNumber(env.COG_MAX_CONCURRENCY);
  const setupTimeout = envNumber(env.COG_SETUP_TIMEOUT);
  const throttle = envNumber(env.COG_THROTTLE_RESPONSE_INTERVAL);
  const history = envNumber(env.COG_STREAM_HISTORY_CAPACITY);
  return {
    concurrency: concurrencyRaw === null
      ? null
      : (Number.isInteger(concurrencyRaw) && concurrencyRaw >= 1 ? concurrencyRaw : 1),
    setupTimeoutMs: setupTimeout !== null && setupTimeout > 0 ? setupTimeout * 1000 : null,
    throttleMs: throttle !== null && throttle >= 0 ? throttle * 1000 : 500,
    historyCapacity: history !== null && Number.isInteger(history) && history >= 0 ? history : 1024,
    queueSize: Math.max(0, Math.floor(envNumber(env.COG_QUEUE_SIZE) ?? 0)),
    webhookToken: env.WEBHOOK_AUTH_TOKEN || undefined,
    userAgent: env.COG_USER_AGENT || undefined,
    maxDownloadBytes: envNumber(env.COG_MAX_INPUT_FILE_BYTES) ?? 1024 * 1024 * 1024,
    downloadTimeoutMs: (envNumber(env.COG_INPUT_DOWNLOAD_TIMEOUT) ?? 120) * 1000,
    uploadTimeoutMs: (envNumber(env.COG_UPLOAD_TIMEOUT) ?? 300) * 1000,
    proxy: proxySettingsFromEnv(env),
    caCertFile: env.DENO_CERT || undefined,
    drainTimeoutMs: (envNumber(env.COG_SHUTDOWN_GRACE) ?? 60) * 1000,
    webhookRetryBaseMs: envNumber(env.COG_WEBHOOK_RETRY_BASE_MS) ?? 100,
    keepAliveMs: (envNumber(env.COG_SSE_KEEPALIVE) ?? 15) * 1000,
    maxSubscribers: Math.max(1, envNumber(env.COG_MAX_SSE_SUBSCRIBERS) ?? 1024),
    bodyLimit: envNumber(env.COG_MAX_BODY_BYTES) ?? 100 * 1024 * 1024,
    maxRedirects: Math.max(0, Math.floor(envNumber(env.COG_MAX_REDIRECTS) ?? 10)),
    readyFile: env.COG_READY_FILE || "/var/run/cog/ready",
    predictionRetentionMs: Math.max(0, envNumber(env.COG_PREDICTION_RETENTION) ?? 3600) * 1000,
    predictionHistory: Math.max(0, Math.floor(envNumber(env.COG_PREDICTION_HISTORY) ?? 1000)),
    webhookSecret: env.COG_WEBHOOK_SECRET ? parseWebhookSecret(env.COG_WEBHOOK_SECRET) : undefined,
    apiToken: env.COG_API_TOKEN || undefined,
  };
}

/** Whether an on/off environment setting is on (`1`, `true`, `yes`). */
function envFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|t|true|yes|on)$/i.test(value.trim());
}

/** The PEM file named by $DENO_CERT (fetch trusts it by itself; uploads are told). */
async function readCaCert(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `DENO_CERT names ${path}, which cannot be read (${
        (error as Error).message
      }): point it at a PEM file of CA certificates or unset it`,
    );
  }
}

/** Loads the project and starts serving. Throws ConfigError for a bad cog.yaml. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, projectDir, configPath, warnings } = await loadConfig({
    cwd: options.cwd,
    file: options.configFile,
  });
  // The server's settings as inside the image: shell < cog.yaml (ENV lines) < -e (docker run -e).
  // In the image cog.yaml is already in the environment, under docker run -e: not laid again.
  const shellEnv = options.settings ?? Deno.env.toObject();
  const overlay = isImageEnvironment(shellEnv)
    ? { ...options.env }
    : environmentOverlay(config, options.env);
  const settingsEnv = { ...shellEnv, ...overlay };
  const log = options.logger ??
    createLogger({ env: settingsEnv });
  const quiet = envFlag(settingsEnv[QUIET_STARTUP_VAR]);
  if (options.configWarnings ?? !quiet) {
    for (const warning of warnings) log("warn", warning);
  }
  const predictRef = config.run ?? null;
  const trainRef = config.train ?? null;
  const mode = options.mode ?? "predict";
  if (mode === "predict" && !predictRef && !trainRef) {
    throw new Error(
      `cog.yaml has no run: (or predict:) entry, so there is no predictor to serve. Add e.g. run: "predict.py:Predictor".`,
    );
  }
  if (mode === "train" && !trainRef) {
    throw new Error(`--x-mode train needs a train: entry in cog.yaml.`);
  }
  const settings = readSettings(settingsEnv);
  const security = readSecuritySettings(settingsEnv);
  const tmp = await createServerTempDir();
  for (const dir of tmp.removed) log("info", `removed the temp directory of a dead server: ${dir}`);
  const tmpDir = tmp.path;
  // The worker inherits the shell's environment; the overlay goes on top of it.
  const workerEnv = overlay;

  // /v1/files uploads: kept a day (at most 1000 files, 10 request-bodies' worth of bytes).
  const uploads = new UploadStore({
    dir: `${tmpDir}/uploads`,
    maxFileBytes: settings.bodyLimit,
    maxFiles: 1000,
    maxTotalBytes: 10 * settings.bodyLimit,
    ttlMs: 24 * 3600_000,
  });
  const service = new PredictionService({
    projectDir,
    predictRef: mode === "train" ? null : predictRef,
    trainRef,
    mode,
    spawnWorker: options.spawnWorker ??
      createPythonWorkerSpawner((line) => log("debug", `worker: ${line}`)),
    workerEnv,
    python: settingsEnv.COG_PYTHON || undefined,
    concurrency: settings.concurrency,
    queueSize: settings.queueSize,
    setupTimeoutMs: settings.setupTimeoutMs,
    files: {
      uploadUrl: options.uploadUrl,
      downloadTimeoutMs: settings.downloadTimeoutMs,
      maxDownloadBytes: settings.maxDownloadBytes,
      maxRedirects: settings.maxRedirects,
      attempts: 3,
      uploadTimeoutMs: settings.uploadTimeoutMs,
      userAgent: settings.userAgent,
      fetch: uploads.fetchThrough(),
      maxOutputBytes: security.maxOutputFileBytes,
      allowLocalInputs: security.allowLocalFileInputs,
      proxy: settings.proxy,
      caCerts: settings.caCertFile ? [await readCaCert(settings.caCertFile)] : undefined,
    },
    webhooks: {
      sender: fetchWebhookSender,
      throttleMs: settings.throttleMs,
      authToken: settings.webhookToken,
      secret: settings.webhookSecret,
      userAgent: `cog-deno/${COG_VERSION}`,
      maxRetries: 12,
      retryBaseMs: settings.webhookRetryBaseMs,
      timeoutMs: 30_000,
    },
    stream: {
      historyCapacity: settings.historyCapacity,
      maxSubscribers: settings.maxSubscribers,
      lagLimit: 1024,
      keepAliveMs: settings.keepAliveMs,
    },
    tmpDir,
    log,
    drainTimeoutMs: settings.drainTimeoutMs,
    // Cog writes this file under Kubernetes (KUBERNETES_SERVICE_HOST set) once ready.
    readyFile: settingsEnv.KUBERNETES_SERVICE_HOST ? settings.readyFile : null,
    history: {
      retentionMs: settings.predictionRetentionMs,
      maxEntries: settings.predictionHistory,
    },
  });

  let resolveFinished!: (code: number) => void;
  const finished = new Promise<number>((resolve) => resolveFinished = resolve);
  let stopping: Promise<void> | null = null;
  let stopWatching: (() => void) | null = null;
  const signalHandlers: [Deno.Signal, () => void][] = [];

  const shutdown = (): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      log("info", "shutting down");
      stopWatching?.();
      await service.shutdown();
      await server.shutdown();
      await tmp.release();
      for (const [signal, handler] of signalHandlers) Deno.removeSignalListener(signal, handler);
      resolveFinished(0);
    })();
    return stopping;
  };

  const app = createApp(service, {
    onShutdown: () => void shutdown(),
    bodyLimit: settings.bodyLimit,
    bodyTimeoutMs: security.bodyTimeoutMs,
    allowedOrigins: security.allowedOrigins,
    log: (level, message) => log(level, message),
    uploads,
    apiToken: settings.apiToken,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      port: options.port,
      hostname: options.host,
      onListen: () => {},
    }, app.fetch);
  } catch (error) {
    await tmp.release();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `port ${options.port} on ${options.host} is already in use: stop whatever holds it or choose another with -p`,
      );
    }
    throw error;
  }
  const address = server.addr;
  const url = `http://${
    address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
  }:${address.port}`;
  options.onListen?.({ hostname: address.hostname, port: address.port });
  service.start();
  if (options.watch) {
    stopWatching = await watchProject({
      projectDir,
      configPath,
      configFile: options.configFile,
      config,
      service,
      log,
    });
  }

  if (options.handleSignals) {
    let interrupts = 0;
    const onInt = () => {
      interrupts++;
      if (interrupts === 1) void shutdown();
      else {
        log("warn", "second interrupt: stopping now");
        service.killWorkers();
        resolveFinished(130);
      }
    };
    const onTerm = () => {
      if (options.awaitExplicitShutdown) {
        log("info", "SIGTERM ignored (--await-explicit-shutdown); use POST /shutdown or SIGINT");
        return;
      }
      void shutdown();
    };
    signalHandlers.push(["SIGINT", onInt], ["SIGTERM", onTerm]);
    for (const [signal, handler] of signalHandlers) Deno.addSignalListener(signal, handler);
  }
  return { url, port: address.port, service, quiet, shutdown, finished };
}
