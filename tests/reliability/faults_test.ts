// Fault injection: each fault ends in a clear reported state, the terminal
// webhook still goes out, nothing is left behind and the next request works.
// (Docker daemon stopping mid-serve: tests/e2e/docker_faults_test.ts.)

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, startReceiver, waitFor, writeProject } from "../_helpers.ts";

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) {
        out.push(Number(entry.name));
      }
    } catch {
      // gone
    }
  }
  return out;
}

Deno.test("worker SIGKILLed mid-prediction: failed with a clear error, webhook delivered, worker restarted", async () => {
  const receiver = startReceiver();
  const before = new Set(childrenOf(Deno.pid));
  const s = await startFixture("slow");
  try {
    const worker = childrenOf(Deno.pid).filter((pid) => !before.has(pid));
    assertEquals(worker.length, 1, "one new worker process");
    const r = await s.request("POST", "/predictions", {
      id: "killed",
      input: { seconds: 30 },
      webhook: `${receiver.url}/hook`,
      webhook_events_filter: ["completed"],
    }, { prefer: "respond-async" });
    assertEquals(r.status, 202);
    await waitFor(
      () => (s.server.service.get("killed")?.toResponse().logs ?? "").includes("sleeping"),
      10_000,
      "running",
    );
    Deno.kill(worker[0], "SIGKILL");
    await waitFor(() => receiver.received.length === 1, 10_000, "terminal webhook");
    const hook = receiver.received[0].json();
    assertEquals(hook.status, "failed");
    assertMatch(hook.error, /Worker crashed/);
    await waitFor(
      async () => (await s.request("GET", "/health-check")).body.status === "READY",
      30_000,
      "restart",
    );
    const next = await s.request("POST", "/predictions", { input: { seconds: 0 } });
    assertEquals(next.body.status, "succeeded");
    assert(s.logs.some((l) => /worker/i.test(l)), "the crash is logged");
  } finally {
    await s.close();
    await receiver.close();
  }
});

Deno.test("setup hanging past COG_SETUP_TIMEOUT: SETUP_FAILED with the reason; predictions get 503", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": "import time\nfrom cog import BasePredictor\n\n" +
      "class Predictor(BasePredictor):\n    def setup(self):\n        time.sleep(120)\n\n" +
      "    def predict(self) -> str:\n        return 'never'\n",
  });
  const s = await startFixture("", { dir, settings: { COG_SETUP_TIMEOUT: "1" } });
  try {
    const health = await s.request("GET", "/health-check");
    assertEquals(health.body.status, "SETUP_FAILED");
    assertMatch(
      JSON.stringify(health.body.setup),
      /setup timed out after 1 seconds \(COG_SETUP_TIMEOUT\)/,
    );
    const r = await s.request("POST", "/predictions", {});
    assertEquals(r.status, 503);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disk full while writing an input file: the prediction fails clearly, nothing is left, the next one works", async () => {
  const mountPoint = await Deno.makeTempDir({ prefix: "cog-tmpfs-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint],
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({ code: -1, stderr: new TextEncoder().encode(String(e)) }));
  if (mount.code !== 0) {
    console.log(
      `SKIP disk-full fault: cannot mount a tmpfs (${
        new TextDecoder().decode(mount.stderr).trim()
      })`,
    );
    await Deno.remove(mountPoint, { recursive: true });
    return;
  }
  const previous = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", mountPoint); // the server makes its directory under TMPDIR at start
  let s;
  try {
    s = await startFixture("file_inputs");
  } finally {
    if (previous === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", previous);
  }
  const receiver = startReceiver();
  try {
    const big = `data:application/octet-stream;base64,${btoa("x".repeat(2 * 1024 * 1024))}`;
    const r = await s.request("POST", "/predictions", {
      input: { image: big },
      webhook: `${receiver.url}/hook`,
      webhook_events_filter: ["completed"],
    });
    assertEquals(r.status, 200);
    assertEquals(r.body.status, "failed");
    assertMatch(r.body.error, /No space left on device|os error 28/i);
    await waitFor(() => receiver.received.length === 1, 10_000, "terminal webhook");
    assertEquals(receiver.received[0].json().status, "failed");
    // the partial file and the prediction's directory are gone
    await waitFor(
      () => {
        // the server's own directory (the fixture helper also puts the models' TMPDIR here)
        const dirs = [...Deno.readDirSync(mountPoint)].filter((d) =>
          d.name.startsWith("cog-server-")
        );
        return dirs.length === 1 &&
          [...Deno.readDirSync(`${mountPoint}/${dirs[0].name}`)].length === 0;
      },
      5000,
      "cleanup",
    );
    const ok = await s.request("POST", "/predictions", {
      input: { image: "data:text/plain,hello" },
    });
    assertEquals(ok.body.status, "succeeded", JSON.stringify(ok.body));
    assertEquals(ok.body.output.image.size, 5);
  } finally {
    await s.close();
    await receiver.close();
    await new Deno.Command("umount", { args: [mountPoint] }).output();
    await Deno.remove(mountPoint, { recursive: true });
  }
});

Deno.test("upload target down: the prediction fails naming the upload, the webhook still goes out", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const receiver = startReceiver();
  const s = await startFixture("files_out", { uploadUrl: `http://127.0.0.1:${port}/bucket/` });
  try {
    const r = await s.request("POST", "/predictions", {
      input: {},
      webhook: `${receiver.url}/hook`,
      webhook_events_filter: ["completed"],
    });
    assertEquals(r.body.status, "failed");
    assertMatch(
      r.body.error,
      /upload of files_out\.png to http:\/\/127\.0\.0\.1:\d+\/bucket\/files_out\.png failed/,
    );
    await waitFor(() => receiver.received.length === 1, 10_000, "terminal webhook");
    assertEquals(receiver.received[0].json().status, "failed");
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
    await receiver.close();
  }
});

Deno.test("cancel right after dispatch (before the async task starts) still ends the prediction", async () => {
  // Regression: a task canceled before its first step never ran its body, so no terminal message.
  const s = await startFixture("soak", { settings: { COG_QUEUE_SIZE: "64" } });
  try {
    let n = 0;
    const lane = async () => {
      while (n < 200) {
        const id = `early-${n++}`;
        const r = await fetch(`${s.url}/predictions`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "text/event-stream" },
          body: JSON.stringify({ id, input: { tokens: 1 + (n % 4), sleep: (n % 20) / 1000 } }),
        });
        const reader = r.body!.getReader();
        await reader.read();
        await reader.cancel(); // the last subscriber leaves: cancel
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    await waitFor(() => s.server.service.inFlight.length === 0, 15_000, "every prediction to end");
  } finally {
    await s.close();
  }
});
