// Health: the /health-check report, combined from the runtimes' states, the
// queue and the shutdown state, plus Kubernetes' ready file (written on the
// first READY, removed when shutdown begins).

import type { Runtime, SetupRecord } from "./runtime.ts";
import { COG_VERSION } from "./wire.ts";

/** Health values reported by /health-check (wire strings). */
export type HealthStatus =
  | "UNKNOWN"
  | "STARTING"
  | "READY"
  | "BUSY"
  | "SETUP_FAILED"
  | "DEFUNCT"
  | "UNHEALTHY"
  | "SHUTTING_DOWN";

/** The /health-check body. */
export interface HealthReport {
  status: HealthStatus;
  setup?: SetupRecord;
  version: Record<string, string>;
  user_healthcheck_error?: string;
  queue?: { depth: number; capacity: number };
  /** Why the server gave up (DEFUNCT only). */
  defunct_reason?: string;
}

/** Why a server cannot take a prediction now (each has its own 503 message). */
export type Unavailable = "starting" | "setup_failed" | "defunct" | "shutting_down";

/** What the health monitor reads from the service. */
export interface HealthSource {
  /** Runtimes that exist, predictions first. */
  runtimes(): Runtime[];
  shuttingDown(): boolean;
  queue(): { depth: number; capacity: number } | null;
}

/** Computes health reports and keeps the ready file in step. */
export class HealthMonitor {
  #source: HealthSource;
  #readyFile: string | null;
  #readyFileWritten = false;
  #log: (level: "warn", message: string) => void;

  constructor(source: HealthSource, options: {
    readyFile?: string | null;
    log: (level: "warn", message: string) => void;
  }) {
    this.#source = source;
    this.#readyFile = options.readyFile ?? null;
    this.#log = options.log;
  }

  /** The status without running the user's healthcheck(). */
  status(): HealthStatus {
    if (this.#source.shuttingDown()) return "SHUTTING_DOWN";
    const runtimes = this.#source.runtimes();
    if (runtimes.length === 0) return "UNKNOWN";
    if (runtimes.some((r) => r.state === "defunct")) return "DEFUNCT";
    if (runtimes.some((r) => r.state === "setup_failed")) return "SETUP_FAILED";
    if (runtimes.some((r) => r.state === "starting")) return "STARTING";
    if (runtimes.some((r) => r.state === "stopped")) return "DEFUNCT";
    return runtimes[0].hasFreeSlot() ? "READY" : "BUSY";
  }

  /** Why a runtime cannot take a prediction, or null when it can (slots aside). */
  unavailable(runtime: Runtime): Unavailable | null {
    if (this.#source.shuttingDown()) return "shutting_down";
    switch (runtime.state) {
      case "ready":
        return runtime.validator ? null : "starting";
      case "starting":
        return "starting";
      case "setup_failed":
        return "setup_failed";
      case "defunct":
      case "stopped":
        return "defunct";
    }
  }

  /** The /health-check report (runs the user's healthcheck() when READY/BUSY). */
  async report(): Promise<HealthReport> {
    let status = this.status();
    const runtimes = this.#source.runtimes();
    const main = runtimes[0];
    const report: HealthReport = {
      status,
      version: { coglet: COG_VERSION, python_sdk: COG_VERSION },
    };
    if (main) report.setup = combinedSetup(runtimes);
    const queue = this.#source.queue();
    if (queue) report.queue = queue;
    if ((status === "READY" || status === "BUSY") && main) {
      const result = await main.healthcheck();
      status = this.status();
      if (!result.ok && (status === "READY" || status === "BUSY")) {
        status = "UNHEALTHY";
        report.user_healthcheck_error = result.error ?? "Healthcheck failed";
      }
      report.status = status;
      if (status === "READY" && !this.#readyFileWritten && this.#readyFile) {
        this.#readyFileWritten = true;
        await writeReadyFile(this.#readyFile, this.#log);
      }
    }
    if (status === "DEFUNCT") {
      // Beyond Cog: say why, so an operator does not have to dig through logs.
      const reason = runtimes.find((r) => r.defunctReason)?.defunctReason;
      if (reason) report.defunct_reason = reason;
    }
    return report;
  }

  /** Shutdown began: an exec readiness probe on the ready file fails from now on. */
  async shutdownBegan(): Promise<void> {
    if (!this.#readyFile || !this.#readyFileWritten) return;
    await Deno.remove(this.#readyFile).catch(() => {});
  }
}

function combinedSetup(runtimes: Runtime[]): SetupRecord {
  if (runtimes.length === 1) return runtimes[0].setup;
  const setups = runtimes.map((r) => r.setup);
  const failed = setups.find((s) => s.status === "failed");
  const starting = setups.find((s) => s.status === "starting");
  const logs = setups.map((s) => s.logs ?? "").join("");
  const record: SetupRecord = {
    started_at: setups[0].started_at,
    status: failed ? "failed" : starting ? "starting" : "succeeded",
  };
  if (!starting) {
    record.completed_at = setups.map((s) => s.completed_at ?? "").sort().at(-1);
  }
  if (logs) record.logs = logs;
  return record;
}

async function writeReadyFile(
  path: string,
  log: (level: "warn", message: string) => void,
): Promise<void> {
  try {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    await Deno.writeFile(path, new Uint8Array());
  } catch (error) {
    log("warn", `could not write ${path}: ${error}`);
  }
}
