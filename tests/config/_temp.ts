// Temporary project directories for config tests, removed when the test process ends.

const created: string[] = [];

globalThis.addEventListener("unload", () => {
  for (const dir of created) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  }
});

/** A new empty directory under TMPDIR. */
export function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "cog-config-test-" });
  created.push(dir);
  return dir;
}
