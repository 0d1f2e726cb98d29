// What the Kubernetes manifest in docs/kubernetes.md relies on, on a real
// `cog serve --no-docker` subprocess:
//  - the readiness file Cog writes under Kubernetes (KUBERNETES_SERVICE_HOST
//    set) appears on the first READY health check (path: COG_READY_FILE);
//  - SIGTERM drains: running async predictions finish, their terminal webhooks
//    are delivered, new ones get 503, then exit code 0;
//  - with --await-explicit-shutdown true, SIGTERM is ignored.

import { assert, assertEquals } from "../_assert.ts";
import { FIXTURES, spawnCliServer, startReceiver, waitFor } from "../_helpers.ts";

interface Served {
  child: Deno.ChildProcess;
  url: string;
  stderr: () => string;
}

async function serve(
  fixture: string,
  args: string[],
  env: Record<string, string>,
): Promise<Served> {
  const cli = await spawnCliServer(`${FIXTURES}${fixture}`, args, env, "settled");
  return { child: cli.child, url: cli.url, stderr: cli.output };
}

Deno.test("Kubernetes: the readiness file appears on the first READY health check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cog-k8s-" });
  const readyFile = `${dir}/run/cog/ready`;
  const s = await serve("async_echo", [], {
    KUBERNETES_SERVICE_HOST: "10.0.0.1",
    COG_READY_FILE: readyFile,
  });
  try {
    // the setup wait above did a READY health check already
    await waitFor(
      async () => {
        try {
          return (await Deno.stat(readyFile)).isFile;
        } catch {
          return false;
        }
      },
      10_000,
      "the ready file",
    );
  } finally {
    s.child.kill("SIGINT");
    assertEquals((await s.child.status).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
  // and not without KUBERNETES_SERVICE_HOST
  const dir2 = await Deno.makeTempDir({ prefix: "cog-k8s-" });
  const s2 = await serve("async_echo", [], { COG_READY_FILE: `${dir2}/ready` });
  try {
    await (await fetch(`${s2.url}/health-check`)).body?.cancel();
    assertEquals([...Deno.readDirSync(dir2)], []);
  } finally {
    s2.child.kill("SIGINT");
    await s2.child.status;
    await Deno.remove(dir2, { recursive: true });
  }
});

Deno.test("SIGTERM drains: running async predictions finish, terminal webhooks go out, exit 0", async () => {
  const receiver = startReceiver();
  const s = await serve("async_echo", [], { COG_SHUTDOWN_GRACE: "60" });
  try {
    const ids = ["drain-1", "drain-2", "drain-3", "drain-4"];
    for (const id of ids) {
      const r = await fetch(`${s.url}/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json", prefer: "respond-async" },
        body: JSON.stringify({
          id,
          input: { text: id, sleep: 1.5 },
          webhook: `${receiver.url}/hook`,
          webhook_events_filter: ["completed"],
        }),
      });
      assertEquals(r.status, 202);
      await r.body?.cancel();
    }
    // all four are running (async_echo is @concurrent(max=4))
    await waitFor(
      async () => {
        const health = await (await fetch(`${s.url}/health-check`)).json();
        return health.status === "BUSY";
      },
      10_000,
      "all slots busy",
    );
    s.child.kill("SIGTERM");
    // while draining, new work is refused with 503 and the server keeps answering
    await waitFor(
      async () => {
        const r = await fetch(`${s.url}/predictions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: { text: "late" } }),
        }).catch(() => null);
        if (!r) return true; // already closed: fine
        await r.body?.cancel();
        return r.status === 503;
      },
      10_000,
      "503 while draining",
    );
    const status = await s.child.status;
    assertEquals(status.code, 0, s.stderr());
    const terminal = receiver.received.map((r) => r.json());
    assertEquals(terminal.map((p) => p.id).sort(), ids);
    for (const p of terminal) {
      assertEquals(p.status, "succeeded");
      assertEquals(p.output, `echo ${p.id}`);
    }
  } finally {
    try {
      s.child.kill("SIGKILL");
    } catch {
      // exited
    }
    await s.child.status;
    await receiver.close();
  }
});

Deno.test("--await-explicit-shutdown true: SIGTERM is ignored; POST /shutdown stops with 0", async () => {
  const s = await serve("async_echo", ["--await-explicit-shutdown", "true"], {});
  try {
    s.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    const r = await fetch(`${s.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { text: "still here" } }),
    });
    assertEquals(r.status, 200);
    assertEquals((await r.json()).output, "echo still here");
    assert(s.stderr().includes("SIGTERM ignored"), s.stderr());
    await (await fetch(`${s.url}/shutdown`, { method: "POST" })).body?.cancel();
    assertEquals((await s.child.status).code, 0);
  } finally {
    try {
      s.child.kill("SIGKILL");
    } catch {
      // exited
    }
    await s.child.status;
  }
});
