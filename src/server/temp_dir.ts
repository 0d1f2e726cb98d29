// The server's own temp directory (predictions' input and output files), and
// the removal of those left behind by servers that were killed (SIGKILL, OOM):
// each directory is named `cog-server-*` and holds a `.lock` file its server
// keeps locked (flock) while it lives; the kernel drops the lock when the
// process dies, however it dies. At start, every sibling `cog-server-*`
// directory of ours whose lock can be taken is stale and removed; one without
// a lock file, or locked, or not ours, is left alone.

/** Name prefix of a server's temp directory. */
export const SERVER_DIR_PREFIX = "cog-server-";
const LOCK = ".lock";

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
  let lock: Deno.FsFile;
  try {
    // Locked under another name, then renamed: whoever sees `.lock` sees it locked.
    lock = await Deno.open(`${path}/${LOCK}.new`, { write: true, createNew: true, mode: 0o600 });
    if (!await lock.tryLock(true)) throw new Error(`could not lock ${path}/${LOCK}`);
    await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
    await Deno.rename(`${path}/${LOCK}.new`, `${path}/${LOCK}`);
  } catch (error) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
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
 * to this user and hold a `.lock` no live process has locked. Returns their paths.
 */
export async function removeStaleServerDirs(parent: string, keep?: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(parent));
  } catch {
    return removed; // an unreadable temp dir is not ours to clean
  }
  const uid = Deno.uid();
  for (const entry of entries) {
    if (!entry.isDirectory || !entry.name.startsWith(SERVER_DIR_PREFIX)) continue;
    const dir = `${parent}/${entry.name}`;
    if (dir === keep) continue;
    let lock: Deno.FsFile | null = null;
    try {
      const info = await Deno.lstat(dir);
      if (!info.isDirectory || (uid !== null && info.uid !== uid)) continue;
      const lockInfo = await Deno.lstat(`${dir}/${LOCK}`);
      if (!lockInfo.isFile) continue;
      lock = await Deno.open(`${dir}/${LOCK}`, { read: true });
      if (!await lock.tryLock(true)) continue; // its server is alive
      await Deno.remove(dir, { recursive: true });
      removed.push(dir);
    } catch {
      // no lock file (not one of ours, or still being made), or gone meanwhile: leave it
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
