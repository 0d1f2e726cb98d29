// Output files the worker reports, opened the safe way: an absolute path, not
// in /proc, /sys or /dev (nor resolving there), a symlink only within its own
// directory, a regular file (stat before open: a FIFO never blocks us), at most
// COG_MAX_OUTPUT_FILE_BYTES, and never more read than the size checked.

/** An output path the server refuses to read (the prediction fails with this message). */
export class OutputFileError extends Error {
  override name = "OutputFileError";
}

/** Default largest output file: 10 GiB (COG_MAX_OUTPUT_FILE_BYTES). */
export const DEFAULT_MAX_OUTPUT_FILE_BYTES = 10 * 1024 ** 3;

/** File systems whose entries are the kernel's view of the *reader* (the server), or devices. */
const VIRTUAL_ROOTS = ["/proc", "/sys", "/dev"];

function virtualRoot(path: string): string | null {
  return VIRTUAL_ROOTS.find((root) => path === root || path.startsWith(`${root}/`)) ?? null;
}

function describeKind(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}

function parentDir(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** A checked output file: open for reading, a regular file of `size` bytes. */
export interface OutputFile {
  file: Deno.FsFile;
  size: number;
}

/**
 * Opens an output file the worker reported, after checking it is safe for the
 * server to read: an absolute path; not in /proc, /sys or /dev (nor a symlink
 * resolving there); if the path itself is a symbolic link, its target stays in
 * the link's own directory (a hostile archive's `out.png -> /etc/passwd`); a
 * regular file (stat before open: a FIFO would block the open for ever); at
 * most `maxBytes`. Throws OutputFileError naming the path and the reason.
 */
export async function openOutputFile(path: string, maxBytes: number): Promise<OutputFile> {
  const refuse = (why: string) => new OutputFileError(`output file ${path} ${why}`);
  if (!path.startsWith("/")) throw refuse("is not an absolute path");
  if (virtualRoot(path)) {
    throw refuse(
      `is in ${virtualRoot(path)}, which the server does not read (it would read its own)`,
    );
  }
  let link: Deno.FileInfo;
  let real: string;
  try {
    link = await Deno.lstat(path);
    real = await Deno.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw refuse("does not exist");
    throw refuse(`cannot be read: ${(error as Error).message}`);
  }
  const root = virtualRoot(real);
  if (root) throw refuse(`resolves to ${real}, in ${root}, which the server does not read`);
  if (link.isSymlink) {
    const dir = await Deno.realPath(parentDir(path));
    if (!real.startsWith(dir === "/" ? "/" : `${dir}/`)) {
      throw refuse(`is a symbolic link to ${real}, outside its own directory`);
    }
  }
  const info = await Deno.stat(real);
  if (!info.isFile) throw refuse(`is ${describeKind(info)}, not a regular file`);
  if (info.size > maxBytes) {
    throw refuse(
      `is ${info.size} bytes, over the ${maxBytes} byte limit (COG_MAX_OUTPUT_FILE_BYTES)`,
    );
  }
  const file = await Deno.open(real, { read: true });
  try {
    // The file may have been replaced between the checks and the open: check what was opened.
    const opened = await file.stat();
    if (!opened.isFile) throw refuse(`is ${describeKind(opened)}, not a regular file`);
    if (opened.size > maxBytes) {
      throw refuse(
        `is ${opened.size} bytes, over the ${maxBytes} byte limit (COG_MAX_OUTPUT_FILE_BYTES)`,
      );
    }
    return { file, size: opened.size };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Reads at most `size` bytes of `file` (the size it had when checked; a growing file is cut there). */
export async function readUpTo(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled === size ? bytes : bytes.subarray(0, filled);
}

/** Copies at most `size` bytes of `file` into a new file at `target`. */
export async function copyUpTo(file: Deno.FsFile, size: number, target: string): Promise<number> {
  const out = await Deno.open(target, { write: true, createNew: true });
  const buffer = new Uint8Array(Math.min(size, 1024 * 1024) || 1);
  let copied = 0;
  try {
    while (copied < size) {
      const n = await file.read(buffer.subarray(0, Math.min(buffer.length, size - copied)));
      if (n === null) break;
      let written = 0;
      while (written < n) written += await out.write(buffer.subarray(written, n));
      copied += n;
    }
  } finally {
    out.close();
  }
  return copied;
}
