// Subprocesses: the one Deno.Command wrapper used by docker/ and worker/.

export { ChildProcess, forEachLine, readLines, spawnChild, TextTail } from "./child.ts";
export type { ChildExit, SpawnOptions } from "./child.ts";
export { execProcess, spawnProcess } from "./exec.ts";
export { killLeftovers, newProcessToken, PROCESS_TOKEN_ENV } from "./reap.ts";
export type { KillLeftoversOptions } from "./reap.ts";
export type { ExecOptions, ExecResult, OutputMode, RunningProcess, Spawn } from "./exec.ts";
