// Worker death mid-prediction (os._exit, SIGKILL as the OOM killer does,
// segfault): the prediction fails clearly, its terminal webhook is sent, the
// worker restarts and setup() reruns; repeated crashes end in DEFUNCT + 503.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, startReceiver, type TestServer, waitFor } from "../_helpers.ts";

async function ready(s: TestServer) {
  await waitFor(
    async () => (await s.request("GET", "/health-check")).body.status === "READY",
    30_000,
  );
}

for (
  const [how, detail] of [
    ["exit", /exited with code 3/],
    ["kill", /killed by SIGKILL/],
    ["segv", /killed by SIGSEGV/],
  ] as const
) {
  Deno.test(`a worker that dies (${how}) fails its prediction, sends the terminal webhook and restarts`, async () => {
    const hook = startReceiver();
    const s = await startFixture("crash_exit");
    try {
      const before = await s.request("POST", "/predictions", { input: { how: "ok" } });
      const firstPid = before.body.output;
      assertMatch(firstPid, /^pid \d+$/);
      const r = await s.request("POST", "/predictions", {
        id: `crash-${how}`,
        input: { how },
        webhook: hook.url,
        webhook_events_filter: ["completed"],
      });
      assertEquals(r.status, 200);
      assertEquals(r.body.status, "failed");
      assertMatch(r.body.error, /^Worker crashed/);
      assertMatch(r.body.error, detail);
      await waitFor(() => hook.received.length === 1);
      const webhook = hook.received[0].json();
      assertEquals(webhook.status, "failed");
      assertMatch(webhook.error, /Worker crashed/);
      // the worker restarts and setup() runs again in a new process
      await ready(s);
      const health = (await s.request("GET", "/health-check")).body;
      assertMatch(health.setup.logs, /setup ran in \d+/);
      const after = await s.request("POST", "/predictions", { input: { how: "ok" } });
      assertEquals(after.body.status, "succeeded");
      assert(after.body.output !== firstPid, "a new worker process answers");
      assertEquals(health.setup.logs, `setup ran in ${after.body.output.slice(4)}\n`);
    } finally {
      await s.close();
      await hook.close();
    }
  });
}

Deno.test("a crash fails every in-flight async prediction of that worker", async () => {
  const hook = startReceiver();
  const s = await startFixture("async_echo");
  try {
    for (const id of ["x1", "x2", "x3"]) {
      await s.request("POST", "/predictions", {
        id,
        input: { text: id, sleep: 30 },
        webhook: hook.url,
        webhook_events_filter: ["completed"],
      }, { prefer: "respond-async" });
    }
    await waitFor(() =>
      ["x1", "x2", "x3"].every((id) => (s.server.service.get(id)?.logs() ?? "") !== "")
    );
    s.server.service.killWorkers();
    await waitFor(() => hook.received.length === 3, 20_000);
    for (const h of hook.received) {
      assertEquals(h.json().status, "failed");
      assertMatch(h.json().error, /Worker crashed \(killed by SIGKILL\)/);
    }
    await ready(s);
    assertEquals(
      (await s.request("POST", "/predictions", { input: { text: "y" } })).body.output,
      "echo y",
    );
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("crashing on every prediction ends in DEFUNCT after three restarts, then 503", async () => {
  const s = await startFixture("crash_exit");
  try {
    for (let i = 0; i < 4; i++) {
      await ready(s);
      const r = await s.request("POST", "/predictions", { input: { how: "exit" } });
      assertEquals(r.body.status, "failed", `crash ${i + 1}`);
      assertMatch(r.body.error, /Worker crashed/);
    }
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "DEFUNCT");
    const p = await s.request("POST", "/predictions", { input: { how: "ok" } });
    assertEquals(p.status, 503);
    assertEquals(p.body.status, "failed");
    const health = (await s.request("GET", "/health-check")).body;
    assertEquals(health.status, "DEFUNCT");
    assertMatch(health.defunct_reason, /Worker crashed/);
  } finally {
    await s.close();
  }
});

Deno.test("a restart whose setup() crashes the process leaves the server DEFUNCT with 503s", async () => {
  const marker = await Deno.makeTempFile({ prefix: "cog-crash-marker-" });
  await Deno.remove(marker);
  const hook = startReceiver();
  const s = await startFixture("crash_setup", { env: { CRASH_MARKER: marker } });
  try {
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
    const r = await s.request("POST", "/predictions", {
      input: {},
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    assertEquals(r.body.status, "failed");
    assertMatch(r.body.error, /Worker crashed/);
    await waitFor(() => hook.received.length === 1);
    assertEquals(hook.received[0].json().status, "failed");
    await waitFor(async () => {
      const status = (await s.request("GET", "/health-check")).body.status;
      return status !== "READY" && status !== "STARTING";
    }, 30_000);
    const health = (await s.request("GET", "/health-check")).body;
    assertEquals(health.status, "DEFUNCT");
    assertMatch(health.setup.logs, /exited with code 7/);
    assertEquals((await s.request("POST", "/predictions", {})).status, 503);
  } finally {
    await s.close();
    await hook.close();
    await Deno.remove(marker).catch(() => {});
  }
});

Deno.test("a prediction queued behind a crash runs after the restart", async () => {
  const s = await startFixture("crash_exit", { settings: { COG_QUEUE_SIZE: "2" } });
  try {
    const crashing = s.request("POST", "/predictions", {
      id: "c1",
      input: { how: "exit", delay: 0.5 },
    });
    await waitFor(() => s.server.service.get("c1")?.logs() === "about to exit\n");
    const queued = s.request("POST", "/predictions", { id: "c2", input: { how: "ok" } });
    await waitFor(() => s.server.service.queueDepth === 1);
    assertEquals((await crashing).body.status, "failed");
    const after = await queued;
    assertEquals(after.status, 200);
    assertEquals(after.body.status, "succeeded");
  } finally {
    await s.close();
  }
});

Deno.test("predictions queued when the worker goes DEFUNCT fail instead of waiting forever", async () => {
  const marker = await Deno.makeTempFile({ prefix: "cog-crash-marker-" });
  await Deno.remove(marker);
  const dir = `${new URL("../fixtures/predictors/crash_setup/", import.meta.url).pathname}`;
  const s = await startFixture("", {
    dir,
    env: { CRASH_MARKER: marker },
    settings: { COG_QUEUE_SIZE: "2" },
  });
  try {
    const firstP = s.request("POST", "/predictions", { id: "d1" });
    await waitFor(() => s.server.service.get("d1") !== undefined);
    const second = await s.request("POST", "/predictions", { id: "d2" });
    const first = await firstP;
    assertEquals(first.body.status, "failed");
    assertEquals(second.status, 200);
    assertEquals(second.body.status, "failed");
    assertMatch(second.body.error, /could not start: the worker crashed and setup failed/);
    await waitFor(
      async () => (await s.request("GET", "/health-check")).body.status === "DEFUNCT",
      30_000,
    );
    assertEquals(s.server.service.queueDepth, 0);
  } finally {
    await s.close();
    await Deno.remove(marker).catch(() => {});
  }
});
