// The server's temp directory: locked while its server lives; one left behind
// by a server killed with SIGKILL is removed when the next server starts,
// while a live server's directory and directories that are not ours (no lock
// file, not a directory, another name) are left alone. Real processes.

import { assert, assertEquals } from "../_assert.ts";
import { FIXTURES, spawnCliServer, waitFor } from "../_helpers.ts";
import { createServerTempDir, removeStaleServerDirs } from "../../src/server/temp_dir.ts";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

Deno.test("a SIGKILLed server's temp dir is removed at the next start; live and foreign ones stay", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "cog-tmpdir-test-" });
  const env = { TMPDIR: tmp };
  const live = await spawnCliServer(`${FIXTURES}echo`, [], env);
  let next: Awaited<ReturnType<typeof spawnCliServer>> | null = null;
  try {
    const liveDirs = (await names(tmp)).filter((n) => n.startsWith("cog-server-"));
    assertEquals(
      await names(`${tmp}/${liveDirs[0]}`),
      [],
      "the directory holds only predictions' files",
    );
    assert((await names(tmp)).includes(`.${liveDirs[0]}.lock`), "its lock is a hidden sibling");
    assertEquals(liveDirs.length, 1);

    const killed = await spawnCliServer(`${FIXTURES}echo`, [], env);
    const worker = killed.workerPid();
    killed.child.kill("SIGKILL");
    await killed.exit();
    // the worker notices the server is gone (EOF) and exits
    await waitFor(() => !alive(worker), 10_000, "the orphaned worker to exit");
    const stale = (await names(tmp)).filter((n) =>
      n.startsWith("cog-server-") && !liveDirs.includes(n)
    );
    assertEquals(stale.length, 1, "the killed server left its directory");

    // Not ours to remove: no lock file, not a directory, another prefix.
    await Deno.mkdir(`${tmp}/cog-server-foreign`);
    await Deno.writeTextFile(`${tmp}/cog-server-foreign/keep.txt`, "x");
    await Deno.writeTextFile(`${tmp}/cog-server-file`, "x");
    await Deno.mkdir(`${tmp}/other-dir`);

    next = await spawnCliServer(`${FIXTURES}echo`, [], env);
    const after = await names(tmp);
    assert(!after.includes(stale[0]), `${stale[0]} is still there: ${after}`);
    assert(!after.includes(`.${stale[0]}.lock`), `its lock file is still there: ${after}`);
    assert(after.includes(liveDirs[0]), "the live server's directory was removed");
    for (const kept of ["cog-server-foreign", "cog-server-file", "other-dir"]) {
      assert(after.includes(kept), `${kept} was removed`);
    }
    assert(
      next.output().includes(`removed the temp directory of a dead server: ${tmp}/${stale[0]}`),
      next.output(),
    );
    const health = await fetch(`${live.url}/health-check`);
    assertEquals((await health.json()).status, "READY");
  } finally {
    for (const server of [live, next]) {
      if (!server) continue;
      server.child.kill("SIGINT");
      assertEquals((await server.exit()).code, 0);
    }
  }
  // Both servers removed their own directories on the way out.
  assertEquals(await names(tmp), ["cog-server-file", "cog-server-foreign", "other-dir"]);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("removeStaleServerDirs leaves a directory whose lock is held, even by this process", async () => {
  const parent = await Deno.makeTempDir({ prefix: "cog-tmpdir-unit-" });
  try {
    const held = await createServerTempDir({ parent });
    assertEquals(await removeStaleServerDirs(parent), []);
    assertEquals((await Deno.stat(held.path)).isDirectory, true);
    // The directory holds only predictions' files: the lock is its sibling.
    assertEquals(await names(held.path), []);
    // A directory with a lock file nobody holds (its server died) goes, and so does an orphan lock.
    await Deno.mkdir(`${parent}/cog-server-dead`);
    await Deno.writeTextFile(`${parent}/.cog-server-dead.lock`, "123\n");
    await Deno.writeTextFile(`${parent}/cog-server-dead/left.bin`, "x");
    await Deno.writeTextFile(`${parent}/.cog-server-orphan.lock`, "124\n");
    const second = await createServerTempDir({ parent });
    assertEquals(second.removed, [`${parent}/cog-server-dead`]);
    assertEquals(
      (await names(parent)).filter((n) => n.includes("dead") || n.includes("orphan")),
      [],
    );
    await held.release();
    await held.release(); // twice is fine
    await second.release();
    assertEquals(await names(parent), []);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
