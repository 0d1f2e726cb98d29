// The lifecycle owner driven directly: every phase x every cancel source on a
// PredictionService with a NAMED FAKE worker (scriptedWorker: it speaks the
// protocol from a script, so the test can hold a prediction in exactly one
// phase), with real HTTP servers for the stalled download and the hanging
// upload. Each case asserts: one terminal state, one terminal webhook, the
// slot free, the files removed, nothing in flight.

import { PredictionService } from "../../src/server/service.ts";
import type { Phase } from "../../src/server/lifecycle.ts";
import { SlotPool } from "../../src/server/slots.ts";
import type { WorkerEvent, WorkerHandle, WorkerSpawner } from "../../src/worker/mod.ts";
import { assert, assertEquals } from "../_assert.ts";
import { startStallingServer, waitFor } from "../_helpers.ts";

/** How long a cancel may take to settle here (in-process, no Python: really a few ms). */
const SETTLE_BOUND_MS = 2000;

const INPUT_DEFAULTS = {
  default_given: true,
  description: null,
  ge: null,
  le: null,
  min_length: null,
  max_length: null,
  regex: null,
  choices: null,
  deprecated: false,
  accept: null,
};

/**
 * FAKE worker (named as such): `mode` "hang" never answers until canceled;
 * "upload" reports an output file and is done (the server then uploads it);
 * "upload-running" reports an output file and keeps running; "ok" succeeds.
 */
function scriptedWorker(outputFile: string, sent: string[]): WorkerSpawner {
  return (_options, onEvent) => {
    let alive = true;
    let resolveExit!: () => void;
    const exited = new Promise<void>((resolve) => resolveExit = resolve);
    const emit = (event: Record<string, unknown>) => {
      if (alive) queueMicrotask(() => onEvent({ v: 1, ...event } as WorkerEvent));
    };
    const exit = () => {
      if (!alive) return;
      alive = false;
      queueMicrotask(() => {
        onEvent({
          type: "exit",
          exit: { code: 0, signal: null, success: true },
          stderrTail: "",
          reason: null,
        } as WorkerEvent);
        resolveExit();
      });
    };
    emit({ type: "hello", protocol: 1, python: "fake", sdk: "0.22.0", pid: 1 });
    emit({
      type: "ready",
      predictor: {
        ref: "fake.py:Predictor",
        kind: "class",
        method: "predict",
        is_async: false,
        is_generator: false,
        streaming: true,
        concurrent_max: null,
        has_healthcheck: false,
      },
      signature: {
        inputs: [
          { name: "mode", type: { kind: "str" }, ...INPUT_DEFAULTS, default: "hang" },
          {
            name: "file",
            type: { kind: "optional", inner: { kind: "path" } },
            ...INPUT_DEFAULTS,
            default: null,
          },
        ],
        output: { kind: "path" },
      },
    });
    const handle: WorkerHandle = {
      pid: 1,
      send(message) {
        sent.push(message.type);
        if (message.type === "predict") {
          const id = message.id;
          const mode = (message.input as Record<string, string>).mode;
          const file = { pointer: "", path: outputFile, mime: "text/plain" };
          if (mode === "ok") {
            emit({ type: "done", id, is_stream: false, output: { value: "x", files: [] } });
          }
          if (mode === "upload" || mode === "upload-running") {
            emit({ type: "output", id, index: 0, value: outputFile, files: [file] });
          }
          if (mode === "upload") emit({ type: "done", id, is_stream: false });
        } else if (message.type === "cancel") {
          emit({ type: "canceled", id: message.id });
        } else if (message.type === "shutdown") {
          exit();
        }
      },
      shutdown() {
        exit();
        return exited;
      },
      kill() {
        exit();
      },
      exited,
    };
    return handle;
  };
}

/** The per-prediction directories under the server's temp dir (none once it is gone). */
async function predictionDirs(dir: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("p")) found.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}

type Source = "request" | "client_gone" | "subscribers_gone" | "shutdown";
const SOURCES: Source[] = ["request", "client_gone", "subscribers_gone", "shutdown"];
const PHASES: Exclude<Phase, "settled">[] = ["queued", "preparing", "running", "finishing"];

async function runCase(phase: Exclude<Phase, "settled">, source: Source): Promise<void> {
  const tmpDir = await Deno.makeTempDir({ prefix: "cog-lifecycle-" });
  const outputFile = `${tmpDir}/out.txt`;
  await Deno.writeTextFile(outputFile, "output file");
  const stall = startStallingServer();
  const sent: string[] = [];
  const webhooks: { status: string }[] = [];
  const service = new PredictionService({
    projectDir: tmpDir,
    predictRef: "fake.py:Predictor",
    trainRef: null,
    mode: "predict",
    spawnWorker: scriptedWorker(outputFile, sent),
    workerEnv: {},
    concurrency: null,
    queueSize: 1,
    setupTimeoutMs: null,
    files: {
      uploadUrl: phase === "finishing" || phase === "running" ? `${stall.url}/up/` : undefined,
      downloadTimeoutMs: 60_000,
      maxDownloadBytes: 1 << 20,
      maxRedirects: 2,
      attempts: 1,
      uploadTimeoutMs: 60_000,
    },
    webhooks: {
      sender: ({ body }) => {
        webhooks.push(JSON.parse(body));
        return Promise.resolve(200);
      },
      throttleMs: 0,
      userAgent: "test",
      maxRetries: 0,
      retryBaseMs: 1,
      timeoutMs: 1000,
    },
    stream: { historyCapacity: 16, maxSubscribers: 4, lagLimit: 64, keepAliveMs: 60_000 },
    tmpDir: `${tmpDir}/server`,
    log: () => {},
    drainTimeoutMs: 50,
  });
  try {
    service.start();
    await waitFor(() => service.healthStatus === "READY", 5000, "the fake worker to be ready");
    const mode = source === "subscribers_gone" ? "sse" : "async";
    const create = (id: string, input: Record<string, unknown>) => {
      const result = service.create({ id, input, webhook: "http://receiver.invalid/hook" }, {
        kind: "prediction",
        mode,
      });
      if (!result.ok) throw new Error(`create ${id}: ${result.reason}`);
      return result.prediction;
    };
    // queued: another prediction holds the only slot
    const blocker = phase === "queued" ? create("blocker", { mode: "hang" }) : null;
    const input: Record<string, unknown> = {
      preparing: { mode: "hang", file: `${stall.url}/input.png` },
      queued: { mode: "hang" },
      running: { mode: "upload-running" },
      finishing: { mode: "upload" },
    }[phase];
    const prediction = create("p", input);
    const reader = mode === "sse"
      ? (service.openEventStream("p") as ReadableStream<Uint8Array>).getReader()
      : null;
    const lifecycle = service.lifecycle("p")!;
    await waitFor(() => lifecycle.phase === phase, 5000, `phase ${phase}`);
    if (phase === "preparing" || phase === "running" || phase === "finishing") {
      await waitFor(() => stall.hits() > 0, 5000, "the stalled transfer to start");
      assertEquals(lifecycle.inFlightCount, 1, "a transfer is in flight");
    }

    const started = Date.now();
    let shutdown: Promise<void> | null = null;
    if (source === "subscribers_gone") await reader!.cancel();
    else if (source === "shutdown") shutdown = service.shutdown();
    else assert(service.cancel("p", source), "cancel accepted");
    await prediction.terminal;
    const took = Date.now() - started;

    assertEquals(prediction.status, "canceled", `${phase} x ${source}`);
    assert(took < SETTLE_BOUND_MS, `settled in ${took} ms`);
    assertEquals(lifecycle.phase, "settled");
    // settle() aborted the transfer; its promise ends a moment later
    await waitFor(() => lifecycle.inFlightCount === 0, SETTLE_BOUND_MS, "nothing in flight");
    await waitFor(() => stall.open() === 0, SETTLE_BOUND_MS, "the stalled transfer to be dropped");
    assertEquals(lifecycle.holdsSlot, false, "the slot is free");
    assertEquals(service.cancel("p"), true, "a second cancel is accepted (idempotent)...");
    assertEquals(prediction.status, "canceled", "...and changes nothing");
    if (shutdown) await shutdown;
    if (blocker) {
      assertEquals(blocker.isTerminal, source === "shutdown", "only shutdown ends the blocker");
      if (!blocker.isTerminal) service.cancel("blocker");
      await blocker.terminal;
    }
    if (shutdown) {
      assertEquals(service.healthStatus, "SHUTTING_DOWN");
    } else {
      await waitFor(() => service.healthStatus === "READY", SETTLE_BOUND_MS, "READY again");
    }
    assertEquals(service.slotUsage.active, 0);
    // files: the prediction's directory is gone (or never made)
    await waitFor(
      async () => (await predictionDirs(`${tmpDir}/server`)).length === 0,
      5000,
      "the prediction's files to be removed",
    );
    await waitFor(() => webhooks.some((w) => w.status === "canceled"), 5000, "the webhook");
    const terminal = webhooks.filter((w) => ["succeeded", "failed", "canceled"].includes(w.status));
    assertEquals(terminal.length, blocker ? 2 : 1, "one terminal webhook per prediction");
  } finally {
    await service.shutdown();
    await stall.close();
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

for (const phase of PHASES) {
  for (const source of SOURCES) {
    Deno.test(`lifecycle: a cancel from ${source} while ${phase} settles as canceled, frees the slot and the files`, async () => {
      await runCase(phase, source);
    });
  }
}

Deno.test("a slot permit is released once: a second release is a no-op", () => {
  let released = 0;
  const pool = new SlotPool(1, () => released++);
  const permit = pool.tryAcquire("a")!;
  assertEquals(pool.tryAcquire("b"), null, "the only slot is taken");
  assertEquals(permit.release(), true);
  assertEquals(permit.release(), false, "second release");
  assertEquals(released, 1);
  assertEquals(pool.active, 0);
  const again = pool.tryAcquire("c")!;
  assertEquals(permit.release(), false, "an old permit cannot free the new holder's slot");
  assertEquals(pool.active, 1);
  again.release();
});

Deno.test("only lifecycle.ts changes a prediction's status", async () => {
  const root = new URL("../../src/", import.meta.url).pathname;
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts") && !path.endsWith("/lifecycle.ts")) {
        const text = await Deno.readTextFile(path);
        if (/\.to(Processing|Succeeded|Failed|Canceled)\(/.test(text)) offenders.push(path);
      }
    }
  };
  await walk(root.replace(/\/$/, ""));
  assertEquals(offenders, []);
});
