// Graceful shutdown: POST /shutdown, SIGTERM, SIGINT and
// --await-explicit-shutdown. In-flight predictions finish (or are canceled
// after the grace period), terminal webhooks are delivered, the worker is
// reaped and the process exits 0.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import {
  type CliServer as Cli,
  FIXTURES,
  spawnCliServer,
  startFixture,
  startReceiver,
  waitFor,
  writeProject,
} from "../_helpers.ts";

const ASYNC = { prefer: "respond-async" };

/** Spawns `main.ts serve --no-docker -p 0` on a fixture and waits until READY. */
function spawnCli(
  fixture: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Cli> {
  return spawnCliServer(`${FIXTURES}${fixture}`, args, env);
}

function isAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

Deno.test("POST /shutdown lets in-flight sync predictions finish and answers them all", async () => {
  const s = await startFixture("async_echo");
  try {
    const pending = ["a", "b", "c", "d"].map((text) =>
      s.request("POST", "/predictions", { input: { text, sleep: 0.5 } })
    );
    await waitFor(() => s.server.service.inFlight.length === 4);
    const shutdown = await s.request("POST", "/shutdown");
    assertEquals(shutdown.status, 200);
    assertEquals(shutdown.body, {});
    const answers = await Promise.all(pending);
    for (const [i, a] of answers.entries()) {
      assertEquals(a.status, 200);
      assertEquals(a.body.output, `echo ${"abcd"[i]}`);
    }
    assertEquals(await s.server.finished, 0);
  } finally {
    await s.close();
  }
});

Deno.test("POST /shutdown drains async predictions and delivers their completed webhooks", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow");
  try {
    await s.request("POST", "/predictions", {
      id: "drain-1",
      input: { seconds: 0.5 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    }, ASYNC);
    await waitFor(() => (s.server.service.get("drain-1")?.logs() ?? "") !== "");
    await s.request("POST", "/shutdown");
    const refused = await fetch(`${s.url}/predictions`, { method: "POST" }).catch(() => null);
    if (refused) {
      assertEquals(refused.status, 503, "no new work once shutting down");
      await refused.body?.cancel();
    }
    assertEquals(await s.server.finished, 0);
    assertEquals(hook.received.length, 1, "the webhook was delivered before exit");
    assertEquals(hook.received[0].json().status, "succeeded");
    assertEquals(hook.received[0].json().output, "woke up");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("predictions still running after COG_SHUTDOWN_GRACE are canceled and their webhooks sent", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow", { settings: { COG_SHUTDOWN_GRACE: "0.5" } });
  try {
    const t0 = Date.now();
    const sync = s.request("POST", "/predictions", {
      id: "long-1",
      input: { seconds: 30 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await waitFor(() => (s.server.service.get("long-1")?.logs() ?? "") !== "");
    await s.request("POST", "/shutdown");
    const answer = await sync;
    assertEquals(answer.status, 200);
    assertEquals(answer.body.status, "canceled");
    assertEquals(await s.server.finished, 0);
    assert(Date.now() - t0 < 20_000, "did not wait for the 30 s sleep");
    assertEquals(hook.received.map((h) => h.json().status), ["canceled"]);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("SIGTERM drains an in-flight prediction, delivers its webhook, reaps the worker and exits 0", async () => {
  const hook = startReceiver();
  const cli = await spawnCli("slow");
  try {
    const pid = cli.workerPid();
    assert(isAlive(pid));
    const sync = post(`${cli.url}/predictions`, {
      input: { seconds: 0.5 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await new Promise((r) => setTimeout(r, 200));
    cli.child.kill("SIGTERM");
    const answer = await sync;
    assertEquals(answer.status, 200);
    assertEquals(answer.body.status, "succeeded");
    const status = await cli.exit();
    assertEquals(status.code, 0, cli.output());
    assertEquals(hook.received.map((h) => h.json().status), ["succeeded"]);
    assertEquals(isAlive(pid), false, "the worker was reaped");
  } finally {
    try {
      cli.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await cli.exit();
    await hook.close();
  }
});

Deno.test("SIGINT shuts down gracefully and exits 0", async () => {
  const hook = startReceiver();
  const cli = await spawnCli("async_echo");
  try {
    const pid = cli.workerPid();
    const accepted = await post(`${cli.url}/predictions`, {
      id: "int-1",
      input: { text: "i", sleep: 0.5 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    }, ASYNC);
    assertEquals(accepted.status, 202);
    cli.child.kill("SIGINT");
    const status = await cli.exit();
    assertEquals(status.code, 0, cli.output());
    assertEquals(
      hook.received.length,
      1,
      "the async prediction's webhook was delivered before exit",
    );
    assertEquals(hook.received[0].json().output, "echo i");
    assertEquals(isAlive(pid), false);
  } finally {
    try {
      cli.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await cli.exit();
    await hook.close();
  }
});

Deno.test("--await-explicit-shutdown ignores SIGTERM; POST /shutdown then exits 0", async () => {
  const cli = await spawnCli("echo", ["--await-explicit-shutdown", "true"]);
  try {
    cli.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const health = await fetch(`${cli.url}/health-check`).then((r) => r.json());
    assertEquals(health.status, "READY", "still serving after SIGTERM");
    const p = await post(`${cli.url}/predictions`, { input: { text: "still" } });
    assertEquals(p.body.output, "hello still");
    const shutdown = await post(`${cli.url}/shutdown`, {});
    assertEquals(shutdown.body, {});
    const status = await cli.exit();
    assertEquals(status.code, 0, cli.output());
    assertMatch(cli.output(), /SIGTERM ignored/);
  } finally {
    try {
      cli.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await cli.exit();
  }
});

Deno.test("--await-explicit-shutdown still stops on SIGINT", async () => {
  const cli = await spawnCli("echo", ["--await-explicit-shutdown", "true"]);
  try {
    const pid = cli.workerPid();
    cli.child.kill("SIGINT");
    const status = await cli.exit();
    assertEquals(status.code, 0, cli.output());
    assertEquals(isAlive(pid), false);
  } finally {
    try {
      cli.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await cli.exit();
  }
});

Deno.test("shutdown gives up on a webhook receiver that keeps failing after the grace period", async () => {
  const hook = startReceiver(() => new Response("down", { status: 503 }));
  const s = await startFixture("echo", {
    settings: { COG_SHUTDOWN_GRACE: "0.5", COG_WEBHOOK_RETRY_BASE_MS: "50" },
  });
  try {
    const r = await s.request("POST", "/predictions", {
      input: { text: "x" },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    assertEquals(r.body.status, "succeeded");
    await waitFor(() => hook.received.length >= 1);
    const t0 = Date.now();
    await s.close();
    assert(Date.now() - t0 < 10_000, "shutdown did not wait for every retry");
    assertEquals(await s.server.finished, 0);
    const count = hook.received.length;
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(hook.received.length, count, "no retries after shutdown");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("while draining, health says SHUTTING_DOWN with 503 and new predictions get their own 503", async () => {
  const s = await startFixture("slow", { settings: { COG_SHUTDOWN_GRACE: "20" } });
  const running = s.request("POST", "/predictions", { id: "d-1", input: { seconds: 0.8 } });
  await waitFor(() => (s.server.service.get("d-1")?.logs() ?? "") !== "");
  const stopping = s.server.shutdown();
  try {
    const health = await s.request("GET", "/health-check");
    assertEquals(health.status, 503);
    assertEquals(health.body.status, "SHUTTING_DOWN");
    const refused = await s.request("POST", "/predictions", { input: { seconds: 0 } });
    assertEquals(refused.status, 503);
    assertEquals(refused.body.error, "The server is shutting down");
    assertEquals((await running).body.status, "succeeded", "the running one finishes");
  } finally {
    await stopping;
  }
});

Deno.test("a worker that dies during the drain is not restarted and the drain ends at once", async () => {
  const s = await startFixture("slow", { settings: { COG_SHUTDOWN_GRACE: "30" } });
  const running = s.request("POST", "/predictions", { id: "k-1", input: { seconds: 20 } });
  await waitFor(() => (s.server.service.get("k-1")?.logs() ?? "") !== "");
  const started = Date.now();
  const stopping = s.server.shutdown();
  s.server.service.killWorkers(); // as a signal to the whole process group would
  const answer = await running;
  await stopping;
  assertEquals(answer.body.status, "failed");
  assertMatch(answer.body.error, /exited during shutdown/);
  assert(Date.now() - started < 15_000, "well inside the 30 s grace period");
  assert(!s.logs.some((l) => l.includes("restarting the worker")), s.logs.join("\n"));
  assert(!s.logs.some((l) => l.includes("reloading")), "setup() never runs again");
});

Deno.test("SIGTERM to the whole process group while shutdown waits on webhooks: setup() ran once, exit within the grace period", async () => {
  const dir = await writeProject({
    "cog.yaml": 'predict: "predict.py:Predictor"\n',
    "predict.py": [
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    def setup(self):",
      "        print('SETUP-RAN')",
      "    def predict(self, seconds: float = 0.1) -> str:",
      "        import time",
      "        time.sleep(seconds)",
      "        return 'done'",
      "",
    ].join("\n"),
  });
  let calls = 0;
  // The receiver refuses the first deliveries, so shutdown has webhooks to wait for.
  const hook = startReceiver(() => new Response("later", { status: ++calls <= 4 ? 503 : 200 }));
  const grace = 20;
  const cli = await spawnCliServer(
    dir,
    [],
    {
      COG_SHUTDOWN_GRACE: String(grace),
      COG_WEBHOOK_RETRY_BASE_MS: "150",
    },
    "READY",
    { ownProcessGroup: true },
  );
  try {
    const r = await post(`${cli.url}/predictions`, {
      id: "g-1",
      input: { seconds: 0.1 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    }, ASYNC);
    assertEquals(r.status, 202);
    await waitFor(() => calls >= 1, 10_000, "the first webhook attempt");
    const started = Date.now();
    await fetch(`${cli.url}/shutdown`, { method: "POST" }).then((x) => x.body?.cancel());
    Deno.kill(-cli.child.pid, "SIGTERM"); // the whole group: server and (unless it has its own) worker
    const status = await cli.exit();
    const took = Date.now() - started;
    assertEquals(status.code, 0, cli.output());
    assert(took < grace * 1000, `exited after ${took} ms`);
    assertEquals(cli.output().split("SETUP-RAN").length - 1, 1, "setup() ran once");
    assert(!cli.output().includes("restarting the worker"), cli.output());
    assertEquals(hook.received.at(-1)?.json().status, "succeeded", "the webhook was delivered");
  } finally {
    try {
      Deno.kill(-cli.child.pid, "SIGKILL");
    } catch { /* already gone */ }
    await cli.exit();
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});
