// A recording DockerClient for CLI tests without a Docker engine: builds "tag" an
// in-memory image store, `capture` answers from a callback, `run` ends at once.

import type { DockerClient, ExecResult, RunningProcess } from "../../src/docker/mod.ts";

/** A fake client plus what it was asked to do and which images it holds. */
export interface FakeDocker extends DockerClient {
  calls: string[][];
  images: Set<string>;
}

/** Options for {@linkcode fakeDocker}. */
export interface FakeDockerOptions {
  /** Answers `capture(args)` (default: exit 0, empty output). */
  capture?: (args: string[]) => Partial<ExecResult>;
  /** How `run(args)` ends (default: exit 1 at once). */
  run?: (args: string[]) => Partial<ExecResult>;
}

/** Creates a fake client; every call is recorded in `calls` (first element: the method). */
export function fakeDocker(options: FakeDockerOptions = {}): FakeDocker {
  const calls: string[][] = [];
  const images = new Set<string>();
  const result = (r: Partial<ExecResult>): ExecResult => ({
    code: 0,
    stdout: "",
    stderrTail: "",
    ...r,
  });
  return {
    calls,
    images,
    ensureDaemon() {
      calls.push(["ensureDaemon"]);
      return Promise.resolve();
    },
    detectBuilder() {
      calls.push(["detectBuilder"]);
      return Promise.resolve({ kind: "buildx" });
    },
    build(command) {
      calls.push(["build", ...command.args]);
      images.add(command.args[command.args.indexOf("--tag") + 1]);
      return Promise.resolve();
    },
    imageExists(image) {
      calls.push(["imageExists", image]);
      return Promise.resolve(images.has(image));
    },
    run(args): RunningProcess {
      calls.push(["run", ...args]);
      const status = Promise.resolve(result({ code: 1, ...options.run?.(args) }));
      return { pid: 1, status, stop: () => status };
    },
    kill(name, signal = "KILL") {
      calls.push(["kill", name, signal]);
      return Promise.resolve();
    },
    remove(name) {
      calls.push(["remove", name]);
      return Promise.resolve();
    },
    containerExists(name) {
      calls.push(["containerExists", name]);
      return Promise.resolve(false);
    },
    tagImage(source, target) {
      calls.push(["tagImage", source, target]);
      if (!images.has(source)) return Promise.reject(new Error(`no image ${source}`));
      images.add(target);
      return Promise.resolve();
    },
    removeImage(image) {
      calls.push(["removeImage", image]);
      images.delete(image);
      return Promise.resolve();
    },
    capture(args) {
      calls.push(["capture", ...args]);
      return Promise.resolve(result(options.capture?.(args) ?? {}));
    },
  };
}
