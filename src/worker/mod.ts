// The TS side of the Python worker: spawn, protocol codec, lifecycle.

export * from "./protocol.ts";
export { createPythonWorkerSpawner } from "./worker.ts";
export type {
  DiagnosticsSink,
  WorkerEvent,
  WorkerHandle,
  WorkerSpawner,
  WorkerSpawnOptions,
} from "./worker.ts";
export { resolvePythonDir } from "./python_dir.ts";
export { describePredictor } from "./describe.ts";
export type { DescribeOptions, PredictorDescription } from "./describe.ts";
