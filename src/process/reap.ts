// What a child leaves behind: every process it started, found and killed after it
// exits. A child spawned with a process token (an environment variable with a value
// unique to that child) passes it to everything it starts, double-forked daemons
// included, so a scan of /proc/<pid>/environ finds them even once they were
// reparented away from it; its process group catches those that cleared their
// environment but stayed in the group. Linux has /proc; elsewhere only the group is
// signalled.

/** The environment variable that carries a process token. */
export const PROCESS_TOKEN_ENV = "COG_WORKER_TOKEN";

/** A new token (a random UUID) for {@linkcode PROCESS_TOKEN_ENV}. */
export function newProcessToken(): string {
  return crypto.randomUUID();
}

/** Options for {@linkcode killLeftovers}. */
export interface KillLeftoversOptions {
  /** The token the child's environment carried ({@linkcode PROCESS_TOKEN_ENV}). */
  token: string;
  /** The child's process group (its pid, when it was spawned with `newSession`). */
  processGroup?: number;
  /** Where the process table is (tests); default "/proc". */
  procDir?: string;
}

const MAX_ROUNDS = 20;
const ROUND_PAUSE_MS = 10;

/**
 * SIGKILLs every process left by an exited child: its process group, then every
 * process whose environment carries the token, again until none is left (a process
 * may fork between a scan and the kill). Resolves with the pids it killed.
 */
export async function killLeftovers(options: KillLeftoversOptions): Promise<number[]> {
  const killed = new Set<number>();
  if (options.processGroup !== undefined && options.processGroup > 1) {
    signal(-options.processGroup);
  }
  const needle = new TextEncoder().encode(`${PROCESS_TOKEN_ENV}=${options.token}\0`);
  const procDir = options.procDir ?? "/proc";
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const found = await findTagged(procDir, needle);
    const alive = found.filter((pid) => signal(pid));
    for (const pid of alive) killed.add(pid);
    if (alive.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
  }
  return [...killed].sort((a, b) => a - b);
}

/** SIGKILL; false when there was no such process (any more). */
function signal(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false; // gone, or not ours (EPERM)
  }
}

/** Pids (not ours) whose environment holds `needle`; zombies have none and are skipped. */
async function findTagged(procDir: string, needle: Uint8Array): Promise<number[]> {
  const pids: number[] = [];
  let entries: AsyncIterable<Deno.DirEntry>;
  try {
    entries = Deno.readDir(procDir);
  } catch {
    return pids;
  }
  try {
    for await (const entry of entries) {
      const pid = Number(entry.name);
      if (!Number.isInteger(pid) || pid <= 1 || pid === Deno.pid) continue;
      let environ: Uint8Array;
      try {
        environ = await Deno.readFile(`${procDir}/${pid}/environ`);
      } catch {
        continue; // gone, or another user's
      }
      if (includes(environ, needle)) pids.push(pid);
    }
  } catch {
    // no /proc (not Linux): the process group was signalled, nothing more to find
  }
  return pids;
}

/** True when `needle` (which ends with NUL) is one whole entry of the NUL-separated `hay`. */
function includes(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first); i !== -1; i = hay.indexOf(first, i + 1)) {
    if (i > 0 && hay[i - 1] !== 0) continue;
    if (hay.length - i < needle.length) return false;
    for (let j = 1; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}
