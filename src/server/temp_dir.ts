// The server's own temp directory (predictions' input and output files), and
// the removal of those left behind by servers that were killed (SIGKILL, OOM):
// each directory `cog-server-X` has a hidden sibling `.cog-server-X.lock` its
// server keeps locked (flock) while it lives; the kernel drops the lock when
// the process dies, however it dies. (A sibling, so the directory itself
// holds only predictions' files.) At start, every `cog-server-*` directory of ours
// whose lock can be taken is stale and removed with its lock file; one
// without a lock file, or locked, or not ours, is left alone.

/** Name prefix of a server's temp directory. */
export const SERVER_DIR_PREFIX = "cog-server-";
const LOCK = ".lock";
const NEW = ".new";

/** `/tmp/cog-server-X` -> `/tmp/.cog-server-X.lock`. */
function lockPathFor(dir: string): string {
  const slash = dir.lastIndexOf("/");
  return `${dir.slice(0, slash)}/.${dir.slice(slash + 1)}${LOCK}`;
}

/** The server's temp directory, held until `release()`. */
export interface ServerTempDir {
  readonly path: string;
  /** Stale directories removed when this one was made. */
  readonly removed: readonly string[];
  /** Unlocks and removes the directory (safe to call twice). */
  release(): Promise<void>;
}

/** Options for {@linkcode createServerTempDir}. */
export interface ServerTempDirOptions {
  /** Parent directory (default: the system temp dir, $TMPDIR). */
  parent?: string;
}

/**
 * Makes a locked `cog-server-*` directory, then removes stale siblings.
 *
 * @example
 * ```ts
 * const tmp = await createServerTempDir();
 * try { ... tmp.path ... } finally { await tmp.release(); }
 * ```
 */
export async function createServerTempDir(
  options: ServerTempDirOptions = {},
): Promise<ServerTempDir> {
  const path = await Deno.makeTempDir({ prefix: SERVER_DIR_PREFIX, dir: options.parent });
  const lockPath = lockPathFor(path);
  let lock: Deno.FsFile;
  try {
    // Locked under another name, then renamed: whoever sees the lock file sees it locked.
    lock = await Deno.open(`${lockPath}${NEW}`, { write: true, createNew: true, mode: 0o600 });
    if (!await lock.tryLock(true)) throw new Error(`could not lock ${lockPath}`);
    await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
    await Deno.rename(`${lockPath}${NEW}`, lockPath);
  } catch (error) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
    await Deno.remove(`${lockPath}${NEW}`).catch(() => {});
    throw error;
  }
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  const removed = await removeStaleServerDirs(parent, path);
  let released: Promise<void> | null = null;
  return {
    path,
    removed,
    release() {
      released ??= (async () => {
        await Deno.remove(path, { recursive: true }).catch(() => {});
        await Deno.remove(lockPath).catch(() => {});
        try {
          lock.close();
        } catch {
          // already closed
        }
      })();
      return released;
    },
  };
}

/**
 * Removes `cog-server-*` directories in `parent` (except `keep`) that belong
 * to this user and whose lock file no live process holds, with their lock
 * files; also lock files left without a directory. Returns the directories.
 */
export async function removeStaleServerDirs(parent: string, keep?: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(parent));
  } catch {
    return removed; // an unreadable temp dir is not ours to clean
  }
  const names = new Set(entries.map((entry) => entry.name));
  const uid = Deno.uid();
  for (const entry of entries) {
    let dir: string | null;
    if (entry.isDirectory && entry.name.startsWith(SERVER_DIR_PREFIX)) {
      dir = `${parent}/${entry.name}`;
      if (dir === keep || !names.has(`.${entry.name}${LOCK}`)) continue;
    } else if (
      entry.isFile && entry.name.startsWith(`.${SERVER_DIR_PREFIX}`) && entry.name.endsWith(LOCK)
    ) {
      // an orphan lock file (its server died between the two removals)
      if (names.has(entry.name.slice(1, -LOCK.length))) continue;
      dir = null;
    } else continue;
    const lockPath = dir === null ? `${parent}/${entry.name}` : lockPathFor(dir);
    let lock: Deno.FsFile | null = null;
    try {
      const info = await Deno.lstat(lockPath);
      if (!info.isFile || (uid !== null && info.uid !== uid)) continue;
      if (dir !== null) {
        const dirInfo = await Deno.lstat(dir);
        if (!dirInfo.isDirectory || (uid !== null && dirInfo.uid !== uid)) continue;
      }
      lock = await Deno.open(lockPath, { read: true });
      if (!await lock.tryLock(true)) continue; // its server is alive
      if (dir !== null) {
        await Deno.remove(dir, { recursive: true });
        removed.push(dir);
      }
      await Deno.remove(lockPath);
    } catch {
      // gone meanwhile, or not ours: leave it
    } finally {
      try {
        lock?.close();
      } catch {
        // closed
      }
    }
  }
  return removed;
}
