// No retention per prediction: after thousands of predictions (async and SSE,
// with webhooks to a receiver that fails a third of the time) the server's
// JS heap, after a full GC, is back near where it started. RSS is not used:
// V8 and the allocator keep pages they grew into (see docs/reliability.md).
// Needs --v8-flags=--expose-gc (scripts/test.ts passes it); skips otherwise.

import { assert } from "../_assert.ts";
import { FIXTURES } from "../_helpers.ts";
import { startServer } from "../../src/cli/server.ts";

const gc = (globalThis as { gc?: () => void }).gc;

Deno.test({
  name: "the server's heap returns to its baseline after 2000 SSE, async and webhook predictions",
  ignore: gc === undefined,
  async fn() {
    let n = 0;
    const receiver = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      async (req) => {
        await req.arrayBuffer(); // nothing is kept
        return new Response("x", { status: n++ % 3 === 0 ? 503 : 200 });
      },
    );
    const hook = `http://127.0.0.1:${receiver.addr.port}/hook`;
    const server = await startServer({
      cwd: `${FIXTURES}soak`,
      port: 0,
      host: "127.0.0.1",
      // The prediction history is bounded: full before the baseline (the warm-up
      // round is larger), so what it keeps does not count as growth.
      settings: { COG_WEBHOOK_RETRY_BASE_MS: "5", COG_PREDICTION_HISTORY: "100" },
      logger: () => {},
    });
    const heap = () => {
      gc!();
      gc!();
      return Deno.memoryUsage().heapUsed;
    };
    const post = async (i: number) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (i % 2 === 0) headers.accept = "text/event-stream";
      else headers.prefer = "respond-async";
      const r = await fetch(`${server.url}/predictions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ input: {}, webhook: hook }),
      });
      await r.text();
    };
    const settle = async () => {
      while (server.service.inFlight.length > 0) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500)); // terminal webhooks and their retries
    };
    try {
      while ((await (await fetch(`${server.url}/health-check`)).json()).status !== "READY") {
        await new Promise((r) => setTimeout(r, 50));
      }
      const round = async () => {
        const jobs: Promise<void>[] = [];
        for (let i = 0; i < 500; i++) {
          jobs.push(post(i));
          if (jobs.length >= 8) await Promise.all(jobs.splice(0));
        }
        await Promise.all(jobs);
        await settle();
      };
      await round(); // warm up: JIT code, caches
      const baseline = heap();
      for (let r = 0; r < 4; r++) await round();
      const after = heap();
      const growth = after - baseline;
      console.log(
        `heap after warm-up ${(baseline / 2 ** 20).toFixed(2)} MiB, after 2000 more predictions ${
          (after / 2 ** 20).toFixed(2)
        } MiB (${growth >= 0 ? "+" : ""}${(growth / 1024).toFixed(0)} KiB)`,
      );
      // 2000 predictions: 1 KiB each would be 2 MiB; allow well under that.
      assert(growth < 1024 * 1024, `the heap grew by ${(growth / 1024).toFixed(0)} KiB`);
    } finally {
      await server.shutdown();
      await receiver.shutdown();
    }
  },
});
