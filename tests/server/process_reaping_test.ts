// Every process the model starts ends with its worker (--no-docker): a child and a
// double-forked setsid daemon started by setup() are gone after POST /shutdown,
// after the worker is killed and restarted (SIGTERM, SIGKILL), and after a SIGTERM
// sent to the server's whole process group, which reaches only the server (the
// worker has a session of its own) so the drain finishes without a "crash".

import { assert, assertEquals } from "../_assert.ts";
import { FIXTURES, startFixture, type TestServer, waitFor } from "../_helpers.ts";
import { running } from "../process/_proc.ts";

const FIXTURE = `${FIXTURES}spawns_children`;
const LINUX = Deno.build.os === "linux";

/** One setup's processes: [worker, child, daemon]. */
type Setup = [number, number, number];

function setups(pidsFile: string): Setup[] {
  const text = Deno.readTextFileSync(pidsFile).trim();
  return text ? text.split("\n").map((line) => line.split(" ").map(Number) as Setup) : [];
}

async function gone(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 250 && pids.some(running); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return pids.filter(running);
}

function killAll(pids: number[]) {
  for (const pid of pids) {
    try {
      if (running(pid)) Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

async function withServer(fn: (s: TestServer, pidsFile: string) => Promise<void>) {
  const pidsFile = await Deno.makeTempFile({ prefix: "cog-pids-" });
  const s = await startFixture("spawns_children", { env: { PIDS_FILE: pidsFile } });
  try {
    await fn(s, pidsFile);
  } finally {
    await s.close();
    killAll(setups(pidsFile).flat());
    await Deno.remove(pidsFile);
  }
}

Deno.test({
  name: "POST /shutdown leaves none of the processes setup() started",
  ignore: !LINUX,
  fn: () =>
    withServer(async (s, pidsFile) => {
      const [[worker, child, daemon]] = setups(pidsFile);
      assert(running(child) && running(daemon));
      assertEquals((await s.request("POST", "/predictions", { input: {} })).body.output, worker);
      assertEquals((await s.request("POST", "/shutdown")).status, 200);
      assertEquals(await s.server.finished, 0);
      assertEquals(await gone([worker, child, daemon]), []);
    }),
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test({
    name: `a worker killed with ${signal} is restarted and none of its processes survive`,
    ignore: !LINUX,
    fn: () =>
      withServer(async (s, pidsFile) => {
        const [[worker, child, daemon]] = setups(pidsFile);
        Deno.kill(worker, signal);
        await waitFor(() => setups(pidsFile).length === 2, 30_000, "setup() to run again");
        await waitFor(
          async () => (await s.request("GET", "/health-check")).body.status === "READY",
          30_000,
        );
        assertEquals(await gone([worker, child, daemon]), []);
        const [, [worker2, child2, daemon2]] = setups(pidsFile);
        assert(running(child2) && running(daemon2), "the new worker's processes are left alone");
        const answer = await s.request("POST", "/predictions", { input: {} });
        assertEquals(answer.body.output, worker2);
        await s.request("POST", "/shutdown");
        assertEquals(await s.server.finished, 0);
        assertEquals(await gone([worker2, child2, daemon2]), []);
      }),
  });
}

Deno.test({
  name: "SIGTERM to the server's whole process group drains without a crash: setup() ran once",
  ignore: !LINUX,
  fn: async () => {
    const pidsFile = await Deno.makeTempFile({ prefix: "cog-pids-" });
    const main = new URL("../../main.ts", import.meta.url).pathname;
    // A process group of its own (as a terminal or a service manager would start it),
    // so the group signal below reaches nothing of the test runner.
    const cli = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "serve", "--no-docker", "-p", "0"],
      cwd: FIXTURE,
      env: { PIDS_FILE: pidsFile, COG_SHUTDOWN_GRACE: "20" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      detached: true,
    }).spawn();
    let output = "";
    const stderr = (async () => {
      for await (const chunk of cli.stderr.pipeThrough(new TextDecoderStream())) output += chunk;
    })();
    try {
      await waitFor(() => /Serving at http/.test(output), 30_000, "Serving at");
      const url = /Serving at (http:\/\/\S+)/.exec(output)![1];
      await waitFor(
        async () => (await (await fetch(`${url}/health-check`)).json()).status === "READY",
        30_000,
      );
      const [[worker, child, daemon]] = setups(pidsFile);
      const sync = fetch(`${url}/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { seconds: 1.5 } }),
      }).then((r) => r.json());
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      Deno.kill(-cli.pid, "SIGTERM"); // the whole group, as Ctrl+C or systemd does
      const answer = await sync;
      assertEquals(answer.status, "succeeded", output);
      assertEquals(answer.output, worker, "answered by the first worker");
      const status = await cli.status;
      await stderr;
      assertEquals(status.code, 0, output);
      assert(Date.now() - t0 < 15_000, "the exit came well within the 20 s grace period");
      assertEquals(setups(pidsFile).length, 1, "setup() ran once");
      assert(!/restarting the worker/.test(output), output);
      assertEquals(await gone([worker, child, daemon]), []);
    } finally {
      try {
        Deno.kill(-cli.pid, "SIGKILL");
      } catch { /* gone */ }
      await cli.status;
      await stderr;
      killAll(setups(pidsFile).flat());
      await Deno.remove(pidsFile);
    }
  },
});
