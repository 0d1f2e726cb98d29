// Waits for the server in the container to be ready by polling /health-check.

/** Options for {@linkcode waitForReady}. */
export interface WaitForReadyOptions {
  /** Base URL, e.g. `http://127.0.0.1:8393`. */
  url: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Resolves when the container exits; waiting then fails at once. */
  exited?: Promise<unknown>;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Why waiting failed. */
export class NotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotReadyError";
  }
}

const READY = new Set(["READY", "BUSY", "UNHEALTHY"]);
const FAILED = new Set(["SETUP_FAILED", "DEFUNCT"]);

/**
 * Polls `GET <url>/health-check` until the status is READY (or BUSY/UNHEALTHY).
 * Throws NotReadyError on SETUP_FAILED/DEFUNCT, container exit, or timeout.
 */
export async function waitForReady(options: WaitForReadyOptions): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const interval = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  options.exited?.then(() => (exited = true), () => (exited = true));
  let lastProblem = "no answer yet";
  while (true) {
    if (options.signal?.aborted) {
      throw new NotReadyError("interrupted while waiting for the model to start");
    }
    if (exited) {
      throw new NotReadyError(
        "the container exited before the model was ready (see its logs above)",
      );
    }
    if (Date.now() > deadline) {
      throw new NotReadyError(
        `the model was not ready after ${
          Math.round(timeoutMs / 1000)
        }s (${lastProblem}). Raise the limit with COG_SETUP_TIMEOUT=<seconds>.`,
      );
    }
    try {
      const res = await doFetch(`${options.url}/health-check`, {
        signal: AbortSignal.timeout(1000),
      });
      const body: unknown = await res.json().catch(() => null);
      const status = typeof body === "object" && body !== null && "status" in body
        ? String((body as { status: unknown }).status)
        : undefined;
      if (status && READY.has(status)) return status;
      if (status && FAILED.has(status)) {
        throw new NotReadyError(
          `model setup failed (health-check status ${status}); see the logs above`,
        );
      }
      lastProblem = status ? `status ${status}` : `HTTP ${res.status} without a status`;
    } catch (err) {
      if (err instanceof NotReadyError) throw err;
      lastProblem = "not answering yet";
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
