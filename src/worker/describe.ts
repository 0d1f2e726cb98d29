// Describes a predictor without running setup(): the worker's --signature-only
// mode (used for `cog predict` preflight and the build's schema label).

import type { PredictorInfo, Signature } from "../schema/mod.ts";
import type { WorkerSpawner } from "./worker.ts";
import { createPythonWorkerSpawner } from "./worker.ts";

/** What the worker reported about a predictor. */
export interface PredictorDescription {
  predictor: PredictorInfo;
  signature: Signature;
}

/** Options for {@linkcode describePredictor}. */
export interface DescribeOptions {
  cwd: string;
  ref: string;
  mode: "predict" | "train";
  env?: Record<string, string>;
  python?: string;
  spawn?: WorkerSpawner;
  timeoutMs?: number;
}

/** Loads the predictor module in a worker and returns its signature; throws with the load error. */
export function describePredictor(options: DescribeOptions): Promise<PredictorDescription> {
  const spawn = options.spawn ?? createPythonWorkerSpawner();
  return new Promise((resolve, reject) => {
    let settled = false;
    const logs: string[] = [];
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const handle = spawn({
      cwd: options.cwd,
      ref: options.ref,
      mode: options.mode,
      concurrency: 0,
      env: options.env,
      python: options.python,
      signatureOnly: true,
    }, (event) => {
      switch (event.type) {
        case "log":
          logs.push(event.data);
          return;
        case "ready":
          finish(() => resolve({ predictor: event.predictor, signature: event.signature }));
          return;
        case "setup_failed":
          finish(() => reject(new Error(`${event.error}\n${event.traceback}`.trim())));
          return;
        case "exit":
          finish(() =>
            reject(
              new Error(
                `the Python worker exited before describing ${options.ref}` +
                  (event.reason ? `: ${event.reason}` : "") +
                  (event.stderrTail ? `\n${event.stderrTail}` : "") +
                  (logs.length ? `\n${logs.join("")}` : ""),
              ),
            )
          );
          return;
      }
    });
    const timer = setTimeout(() => {
      finish(() => reject(new Error(`timed out loading ${options.ref}`)));
      handle.kill();
    }, options.timeoutMs ?? 60_000);
    // The worker exits by itself after reporting; make sure it is reaped.
    handle.exited.then(() => {}, () => {});
  });
}
