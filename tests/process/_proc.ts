// Test helper: is a process still running (Linux /proc)?

/** True while `pid` exists and is not a zombie (a killed orphan may stay one). */
export function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}
