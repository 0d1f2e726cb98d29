// Slots, 409 at capacity, BUSY, back-to-back requests, COG_MAX_CONCURRENCY and
// cog.yaml concurrency.max, and the optional bounded queue.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, startReceiver, waitFor, writeProject } from "../_helpers.ts";

const ASYNC = { prefer: "respond-async" };

Deno.test("an async predictor at max 1 answers 409 and reports BUSY while its slot is taken", async () => {
  const hook = startReceiver();
  const s = await startFixture("async_echo", { settings: { COG_MAX_CONCURRENCY: "1" } });
  try {
    const first = await s.request("POST", "/predictions", {
      id: "m1-a",
      input: { text: "a", sleep: 0.5 },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    }, ASYNC);
    assertEquals(first.status, 202);
    assertEquals((await s.request("GET", "/health-check")).body.status, "BUSY");
    const second = await s.request("POST", "/predictions", { input: { text: "b" } }, ASYNC);
    assertEquals(second.status, 409);
    assertEquals(second.body, {
      error: "At capacity - all prediction slots busy",
      status: "failed",
    });
    const sync = await s.request("POST", "/predictions", { input: { text: "c" } });
    assertEquals(sync.status, 409);
    const put = await s.request("PUT", "/predictions/other", { input: { text: "d" } });
    assertEquals(put.status, 409);
    await waitFor(() => hook.received.length === 1);
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "READY");
    const after = await s.request("POST", "/predictions", { input: { text: "e" } });
    assertEquals(after.body.output, "echo e");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("an async predictor at max 4 runs four at once, refuses the fifth, and loses nothing", async () => {
  const hook = startReceiver();
  const s = await startFixture("async_echo", { settings: { COG_MAX_CONCURRENCY: "4" } });
  try {
    const accepted: string[] = [];
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        s.request("POST", "/predictions", {
          id: `m4-${i}`,
          input: { text: `t${i}`, sleep: 0.6 },
          webhook: hook.url,
          webhook_events_filter: ["completed"],
        }, ASYNC)),
    );
    for (const a of answers) {
      assertEquals(a.status, 202);
      accepted.push(a.body.id);
    }
    assertEquals(s.server.service.slotUsage, { active: 4, total: 4 });
    assertEquals((await s.request("GET", "/health-check")).body.status, "BUSY");
    assertEquals(
      (await s.request("POST", "/predictions", { input: { text: "x" } }, ASYNC)).status,
      409,
    );
    await waitFor(() => hook.received.length === 4, 10_000);
    const byId = new Map(hook.received.map((h) => [h.json().id, h.json()]));
    assertEquals([...byId.keys()].sort(), accepted.sort());
    for (const [id, body] of byId) {
      assertEquals(body.status, "succeeded");
      assertEquals(body.output, `echo t${id.slice(3)}`);
      assertEquals(body.logs, `start t${id.slice(3)}\nend t${id.slice(3)}\n`);
    }
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a burst against 4 slots: every request is answered 200 or 409 and each prediction ends once", async () => {
  const hook = startReceiver();
  const s = await startFixture("async_echo", { settings: { COG_MAX_CONCURRENCY: "4" } });
  try {
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        s.request("POST", "/predictions", {
          id: `burst-${i}`,
          input: { text: `${i}`, sleep: 0.05 * (i % 3) },
          webhook: hook.url,
          webhook_events_filter: ["completed"],
        })),
    );
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 409);
    assertEquals(ok.length + refused.length, 24, `statuses: ${answers.map((a) => a.status)}`);
    assert(ok.length >= 4, "at least the first four ran");
    for (const a of ok) assertEquals(a.body.output, `echo ${a.body.id.slice(6)}`);
    await waitFor(() => hook.received.length >= ok.length);
    await new Promise((r) => setTimeout(r, 200));
    const ids = hook.received.map((h) => h.json().id).sort();
    assertEquals(
      ids,
      ok.map((a) => a.body.id).sort(),
      "one terminal webhook per accepted prediction",
    );
    assertEquals(s.server.service.slotUsage.active, 0);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("the slot is free before the terminal response: back-to-back sync requests never get 409", async () => {
  const s = await startFixture("echo");
  try {
    for (let i = 0; i < 40; i++) {
      const r = await s.request("POST", "/predictions", { input: { text: `${i}` } });
      assertEquals(r.status, 200, `request ${i}`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("the slot is free before a failed response too", async () => {
  const s = await startFixture("raises");
  try {
    for (let i = 0; i < 10; i++) {
      const r = await s.request("POST", "/predictions", {});
      assertEquals(r.status, 200);
      assertEquals(r.body.status, "failed");
    }
  } finally {
    await s.close();
  }
});

Deno.test("COG_MAX_CONCURRENCY over 1 with a sync predictor fails setup with Cog's message", async () => {
  const s = await startFixture("echo", { settings: { COG_MAX_CONCURRENCY: "2" } });
  try {
    const health = await s.request("GET", "/health-check");
    assertEquals(health.body.status, "SETUP_FAILED");
    assertMatch(
      health.body.setup.logs,
      /COG_MAX_CONCURRENCY > 1 requires an async run\(\) or predict\(\) method/,
    );
    assertEquals((await s.request("POST", "/predictions", { input: { text: "x" } })).status, 503);
  } finally {
    await s.close();
  }
});

Deno.test("cog.yaml concurrency.max sets the slots over the shell's COG_MAX_CONCURRENCY, and -e COG_MAX_CONCURRENCY overrides it", async () => {
  const dir = await writeProject({
    "cog.yaml":
      'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\nconcurrency:\n  max: 2\n',
    "predict.py": [
      "import asyncio",
      "from cog import BasePredictor",
      "class Predictor(BasePredictor):",
      "    async def predict(self, sleep: float = 0) -> str:",
      "        await asyncio.sleep(sleep)",
      "        return 'ok'",
    ].join("\n"),
  });
  try {
    const s = await startFixture("", { dir });
    try {
      assertEquals(s.server.service.slotUsage.total, 2);
    } finally {
      await s.close();
    }
    // As in the image: the shell is under cog.yaml (an ENV line), -e over it (docker run -e).
    const shell = await startFixture("", { dir, settings: { COG_MAX_CONCURRENCY: "3" } });
    try {
      assertEquals(shell.server.service.slotUsage.total, 2);
    } finally {
      await shell.close();
    }
    const o = await startFixture("", { dir, env: { COG_MAX_CONCURRENCY: "3" } });
    try {
      assertEquals(o.server.service.slotUsage.total, 3);
    } finally {
      await o.close();
    }
    const junk = await startFixture("", { dir, env: { COG_MAX_CONCURRENCY: "0" } });
    try {
      assertEquals(junk.server.service.slotUsage.total, 1, "0 means 1, as in Cog");
    } finally {
      await junk.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cog.yaml concurrency.max over 1 with a sync predictor fails setup", async () => {
  const dir = await writeProject({
    "cog.yaml":
      'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\nconcurrency:\n  max: 3\n',
    "predict.py":
      "from cog import BasePredictor\nclass Predictor(BasePredictor):\n    def predict(self) -> str:\n        return 'x'\n",
  });
  const s = await startFixture("", { dir });
  try {
    const health = await s.request("GET", "/health-check");
    assertEquals(health.body.status, "SETUP_FAILED");
    assertMatch(health.body.setup.logs, /requires an async run\(\) or predict\(\)/);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with COG_QUEUE_SIZE a burst waits in the queue instead of failing, depth shown in health", async () => {
  const hook = startReceiver();
  const s = await startFixture("slow", { settings: { COG_QUEUE_SIZE: "3" } });
  try {
    const idle = await s.request("GET", "/health-check");
    assertEquals(idle.body.queue, { depth: 0, capacity: 3 });
    const send = (id: string) =>
      s.request("POST", "/predictions", {
        id,
        input: { seconds: 0.3 },
        webhook: hook.url,
        webhook_events_filter: ["completed"],
      }, ASYNC);
    const answers = [];
    for (const id of ["q0", "q1", "q2", "q3"]) answers.push(await send(id));
    assertEquals(answers.map((a) => a.status), [202, 202, 202, 202]);
    const busy = await s.request("GET", "/health-check");
    assertEquals(busy.body.status, "BUSY");
    assertEquals(busy.body.queue, { depth: 3, capacity: 3 });
    const full = await send("q4");
    assertEquals(full.status, 409, "the queue is bounded");
    await waitFor(() => hook.received.length === 4, 20_000);
    assertEquals(hook.received.map((h) => h.json().id), ["q0", "q1", "q2", "q3"], "FIFO");
    for (const h of hook.received) assertEquals(h.json().status, "succeeded");
    assertEquals((await s.request("GET", "/health-check")).body.queue, { depth: 0, capacity: 3 });
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a queued sync request waits for its turn and returns 200", async () => {
  const s = await startFixture("slow", { settings: { COG_QUEUE_SIZE: "5" } });
  try {
    const answers = await Promise.all(
      [0.3, 0.1, 0.1, 0.1].map((seconds) =>
        s.request("POST", "/predictions", { input: { seconds } })
      ),
    );
    assertEquals(answers.map((a) => a.status), [200, 200, 200, 200]);
    for (const a of answers) assertEquals(a.body.status, "succeeded");
  } finally {
    await s.close();
  }
});

Deno.test("without a queue, health-check has no queue field", async () => {
  const s = await startFixture("echo");
  try {
    assertEquals("queue" in (await s.request("GET", "/health-check")).body, false);
  } finally {
    await s.close();
  }
});
