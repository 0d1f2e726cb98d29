// `deno task soak`: a bounded load run against a real `cog serve --no-docker`
// subprocess (loopback only) on an async, concurrent, streaming predictor
// (tests/fixtures/predictors/soak), with random cancels, client disconnects,
// SSE subscribers leaving and a webhook receiver that fails at random.
//
// Checks, and exits 1 when any fails:
//  - every accepted prediction reaches exactly one terminal state, and its
//    terminal webhook is delivered (answered 2xx) exactly once after retries;
//  - sync answers agree with the terminal webhook; nothing ends "failed";
//  - afterwards: health READY, no temp files left in the server's directory,
//    no extra child process, no file descriptor growth; RSS before/after is
//    reported; after POST /shutdown the server exits 0 and leaves TMPDIR empty.
//
// Flags: --quick (a few hundred predictions, for tests), --predictions N,
// --clients N, --seed N, --fail-rate F (webhook receiver). Prints a summary and
// one `SOAK_SUMMARY {json}` line. Stops by itself: the whole run is bounded by
// --max-seconds (default 180).

import { parseArgs } from "node:util";

const REPO = new URL("..", import.meta.url).pathname;
const FIXTURE = `${REPO}tests/fixtures/predictors/soak`;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    predictions: { type: "string" },
    clients: { type: "string" },
    seed: { type: "string" },
    "fail-rate": { type: "string" },
    "max-seconds": { type: "string" },
  },
});
const quick = flags.quick ?? false;
const TOTAL = Number(flags.predictions ?? (quick ? 300 : 3000));
const CLIENTS = Number(flags.clients ?? 16);
const SEED = Number(flags.seed ?? Date.now() % 1_000_000);
const FAIL_RATE = Number(flags["fail-rate"] ?? 0.3);
const MAX_SECONDS = Number(flags["max-seconds"] ?? 180);
const WARMUP = quick ? 30 : 100;
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

// Deterministic PRNG (mulberry32) so a failing seed can be replayed.
let state = SEED >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: [T, number][]): T => {
  let r = random() * items.reduce((a, [, w]) => a + w, 0);
  for (const [item, weight] of items) if ((r -= weight) < 0) return item;
  return items[items.length - 1][0];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deadline = Date.now() + MAX_SECONDS * 1000;

// ---- webhook receiver that fails at random ---------------------------------------------------
const delivered = new Map<string, { status: string; count: number }>();
const webhookStats = { requests: 0, failedOnPurpose: 0, terminalRetries: 0, duplicates: 0 };
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  webhookStats.requests++;
  const id = decodeURIComponent(new URL(req.url).pathname.split("/").pop() ?? "");
  const body = await req.json();
  const terminal = TERMINAL.has(body.status);
  if (random() < FAIL_RATE) {
    webhookStats.failedOnPurpose++;
    if (terminal) webhookStats.terminalRetries++;
    return new Response("try again", { status: pick([[500, 1], [503, 1], [429, 1]]) });
  }
  if (terminal) {
    const seen = delivered.get(id);
    if (seen) {
      seen.count++;
      webhookStats.duplicates++;
    } else delivered.set(id, { status: body.status, count: 1 });
  }
  return new Response(null, { status: 200 });
});
const hookBase = `http://127.0.0.1:${receiver.addr.port}/hook/`;

// ---- the server under test ---------------------------------------------------------------------
const work = await Deno.makeTempDir({ prefix: "cog-soak-" });
const serverTmp = `${work}/tmp`;
await Deno.mkdir(serverTmp);
const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `${REPO}main.ts`, "serve", "--no-docker", "-p", "0"],
  cwd: FIXTURE,
  env: {
    TMPDIR: serverTmp,
    COG_QUEUE_SIZE: "64",
    COG_WEBHOOK_RETRY_BASE_MS: "5",
    COG_THROTTLE_RESPONSE_INTERVAL: "0.05",
    COG_SHUTDOWN_GRACE: "30",
    COG_LOG_LEVEL: "warn",
  },
  stdin: "null",
  stdout: "null",
  stderr: "piped",
}).spawn();
let stderrTail = "";
let resolvePort!: (port: number) => void;
const portPromise = new Promise<number>((r) => resolvePort = r);
(async () => {
  const decoder = new TextDecoder();
  for await (const chunk of server.stderr) {
    stderrTail = (stderrTail + decoder.decode(chunk, { stream: true })).slice(-20_000);
    const match = /Serving at http:\/\/[^:]+:(\d+)/.exec(stderrTail);
    if (match) resolvePort(Number(match[1]));
  }
})();
const port = await Promise.race([portPromise, sleep(60_000).then(() => 0)]);
if (!port) {
  console.error(`the server did not start:\n${stderrTail}`);
  server.kill("SIGKILL");
  Deno.exit(1);
}
const base = `http://127.0.0.1:${port}`;
while ((await (await fetch(`${base}/health-check`)).json()).status !== "READY") {
  if (Date.now() > deadline) throw new Error("setup did not finish");
  await sleep(50);
}

// ---- process probes (Linux /proc) ----------------------------------------------------------------
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry.name), ...childrenOf(Number(entry.name)));
    } catch {
      // gone
    }
  }
  return out;
}
function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
function fdCount(pid: number): number {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
  } catch {
    return 0;
  }
}
/** What a process's fds point at, by kind (socket, pipe, anon_inode, file path). */
function fdKinds(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      let target = "?";
      try {
        target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).replace(/:\[\d+\]$/, "");
      } catch {
        // closed meanwhile
      }
      kinds[target] = (kinds[target] ?? 0) + 1;
    }
  } catch {
    // process gone
  }
  return kinds;
}
function countFiles(dir: string): number {
  let n = 0;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      n += entry.isDirectory ? 1 + countFiles(`${dir}/${entry.name}`) : 1;
    }
  } catch {
    // missing
  }
  return n;
}
function snapshot() {
  const kids = childrenOf(server.pid);
  return {
    serverRssKb: rssKb(server.pid),
    workerRssKb: kids.reduce((a, pid) => a + rssKb(pid), 0),
    serverFds: fdCount(server.pid),
    serverSockets: fdKinds(server.pid)["socket"] ?? 0,
    workerFds: kids.reduce((a, pid) => a + fdCount(pid), 0),
    children: kids.length,
    // inside the server's own cog-server-* directory (per-prediction dirs); its
    // .cog-server-*.lock sibling is the server's, held while it runs
    tempFiles: [...Deno.readDirSync(serverTmp)].reduce(
      (a, e) =>
        a +
        (e.isDirectory
          ? countFiles(`${serverTmp}/${e.name}`)
          : /^\.cog-server-.*\.lock$/.test(e.name)
          ? 0
          : 1),
      0,
    ),
  };
}

// ---- the load ------------------------------------------------------------------------------------
type Kind = "sync" | "sync-disconnect" | "async" | "async-cancel" | "sse" | "sse-leave";
const accepted = new Map<string, { kind: Kind; answer?: string }>();
const counts: Record<string, number> = {
  refused409: 0,
  cancelsSent: 0,
  disconnects: 0,
  sseLeft: 0,
  extraSubscribers: 0,
  clientErrors: 0,
};
let nextIndex = 0;

async function one(index: number, prefix: string): Promise<void> {
  const id = `${prefix}-${index}-${SEED}`;
  const kind = pick<Kind>([
    ["sync", 25],
    ["sync-disconnect", 10],
    ["async", 30],
    ["async-cancel", 15],
    ["sse", 10],
    ["sse-leave", 10],
  ]);
  const allEvents = random() < 0.2;
  const body = JSON.stringify({
    id,
    input: { tokens: 1 + Math.floor(random() * 5), sleep: Math.round(random() * 30) / 1000 },
    webhook: hookBase + encodeURIComponent(id),
    webhook_events_filter: allEvents ? undefined : ["completed"],
  });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (kind === "async" || kind === "async-cancel") headers.prefer = "respond-async";
  if (kind === "sse" || kind === "sse-leave") headers.accept = "text/event-stream";
  const abort = new AbortController();
  const disconnectAfter = kind === "sync-disconnect" ? random() * 60 : null;
  for (let attempt = 0;; attempt++) {
    let response: Response;
    try {
      const timer = disconnectAfter !== null
        ? setTimeout(() => abort.abort(), disconnectAfter)
        : undefined;
      const pending = fetch(`${base}/predictions`, {
        method: "POST",
        body,
        headers,
        signal: abort.signal,
      });
      if (disconnectAfter !== null) {
        // the prediction may be accepted before the client goes away
        accepted.set(id, { kind });
      }
      response = await pending;
      clearTimeout(timer);
    } catch (error) {
      if (abort.signal.aborted) {
        counts.disconnects++;
        return;
      }
      counts.clientErrors++;
      throw error;
    }
    if (response.status === 409) {
      await response.body?.cancel();
      counts.refused409++;
      if (disconnectAfter !== null) accepted.delete(id);
      await sleep(20 + random() * 30);
      if (attempt > 200) throw new Error(`${id}: refused 200 times`);
      continue;
    }
    if (response.status !== 200 && response.status !== 202) {
      throw new Error(`${id}: ${kind} answered ${response.status}: ${await response.text()}`);
    }
    const record = { kind } as { kind: Kind; answer?: string };
    accepted.set(id, record);
    if (kind === "sync" || kind === "sync-disconnect") {
      try {
        record.answer = (await response.json()).status;
      } catch {
        if (!abort.signal.aborted) throw new Error(`${id}: sync answer unreadable`);
        counts.disconnects++;
      }
      return;
    }
    if (kind === "async" || kind === "async-cancel") {
      await response.body?.cancel();
      if (random() < 0.2) {
        // an extra SSE subscriber attaches and leaves early: must not cancel an async prediction
        counts.extraSubscribers++;
        const sub = await fetch(`${base}/predictions/${encodeURIComponent(id)}`, {
          method: "PUT",
          body,
          headers: { ...headers, accept: "text/event-stream", prefer: "" },
        });
        if (sub.body) {
          const reader = sub.body.getReader();
          await reader.read().catch(() => {});
          await reader.cancel().catch(() => {});
        }
      }
      if (kind === "async-cancel") {
        await sleep(random() * 60);
        counts.cancelsSent++;
        const c = await fetch(`${base}/predictions/${encodeURIComponent(id)}/cancel`, {
          method: "POST",
        });
        await c.body?.cancel();
        if (c.status !== 200 && c.status !== 404) {
          throw new Error(`${id}: cancel answered ${c.status}`);
        }
      }
      return;
    }
    // SSE
    const reader = response.body!.getReader();
    if (kind === "sse-leave") {
      await reader.read().catch(() => {});
      await reader.cancel().catch(() => {});
      counts.sseLeft++;
      return;
    }
    let text = "";
    const decoder = new TextDecoder();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    if (!text.includes("event: completed")) throw new Error(`${id}: SSE ended without completed`);
    return;
  }
}

async function runPhase(count: number, prefix: string): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < count && Date.now() < deadline) {
      const index = started++;
      await one(index, prefix);
      nextIndex++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, lane));
}

/** Predictions the server counted as final (/metrics), and how many are still in flight. */
async function serverCounts(): Promise<{ total: number; inFlight: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^cog_predictions_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  const inFlight = Number(/^cog_predictions_in_flight (\d+)/m.exec(text)?.[1] ?? -1);
  return { total, inFlight };
}

/** A sync request aborted before any answer may or may not have been accepted by the server. */
const ambiguous = (record: { kind: Kind; answer?: string }) =>
  record.kind === "sync-disconnect" && record.answer === undefined;

async function quiesce(): Promise<void> {
  const until = Math.min(deadline + 60_000, Date.now() + 90_000);
  while (Date.now() < until) {
    const counts = await serverCounts();
    const missing = [...accepted].filter(([id, r]) => !ambiguous(r) && !delivered.has(id));
    if (counts.inFlight === 0 && missing.length === 0 && delivered.size === counts.total) return;
    await sleep(100);
  }
}

const t0 = Date.now();
await runPhase(WARMUP, "warm");
await quiesce();
await sleep(500);
const before = snapshot();
const tMain = Date.now();
await runPhase(TOTAL, "soak");
const mainSeconds = (Date.now() - tMain) / 1000;
await quiesce();
await sleep(1000);
const after = snapshot();
const workerPidsAfter = childrenOf(server.pid);

// ---- invariants ------------------------------------------------------------------------------------
const problems: string[] = [];
const outcomes: Record<string, number> = { succeeded: 0, canceled: 0, failed: 0 };
let lost = 0;
let neverAccepted = 0;
const finalCounts = await serverCounts();
for (const [id, record] of accepted) {
  const hook = delivered.get(id);
  if (!hook) {
    // a sync request aborted before the server accepted it never existed: no webhook is right
    // (the server-side count below proves no accepted one is missing)
    if (ambiguous(record)) {
      neverAccepted++;
      continue;
    }
    lost++;
    problems.push(`${id} (${record.kind}): no terminal webhook`);
    continue;
  }
  outcomes[hook.status] = (outcomes[hook.status] ?? 0) + 1;
  if (hook.count !== 1) problems.push(`${id}: terminal webhook delivered ${hook.count} times`);
  if (record.answer && record.answer !== hook.status) {
    problems.push(`${id}: answered ${record.answer} but the webhook said ${hook.status}`);
  }
}
for (const id of delivered.keys()) {
  if (!accepted.has(id)) problems.push(`${id}: webhook for a prediction never accepted`);
}
if (finalCounts.total !== delivered.size) {
  lost += Math.max(0, finalCounts.total - delivered.size);
  problems.push(
    `the server finished ${finalCounts.total} predictions but ${delivered.size} terminal webhooks arrived`,
  );
}
if (outcomes.failed > 0) problems.push(`${outcomes.failed} predictions failed`);
if (after.tempFiles !== 0) {
  problems.push(`${after.tempFiles} temp files left in the server's directory`);
}
if (after.children !== before.children) {
  problems.push(`child processes: ${before.children} before, ${after.children} after`);
}
// Sockets are not a leak while they are bounded: idle keep-alive connections
// (the clients' to us, ours to the webhook receiver) stay pooled for a while,
// up to one per concurrent client each way. Anything else must not grow.
const otherFds = (s: { serverFds: number; serverSockets: number }) => s.serverFds - s.serverSockets;
if (otherFds(after) > otherFds(before) + 4) {
  problems.push(
    `server fds grew: ${before.serverFds} -> ${after.serverFds} (now ${
      JSON.stringify(fdKinds(server.pid))
    })`,
  );
}
if (after.serverSockets > before.serverSockets + 2 * CLIENTS + 4) {
  problems.push(
    `server sockets grew beyond the pools: ${before.serverSockets} -> ${after.serverSockets}`,
  );
}
if (after.workerFds > before.workerFds + 8) {
  problems.push(`worker fds grew: ${before.workerFds} -> ${after.workerFds}`);
}

// ---- shutdown --------------------------------------------------------------------------------------
await (await fetch(`${base}/shutdown`, { method: "POST" })).body?.cancel();
const exit = await Promise.race([server.status, sleep(60_000).then(() => null)]);
if (!exit) {
  problems.push("the server did not exit within 60 s of POST /shutdown");
  server.kill("SIGKILL");
} else if (exit.code !== 0) problems.push(`the server exited with ${exit.code}`);
const leftInTmp = countFiles(serverTmp);
if (leftInTmp !== 0) problems.push(`${leftInTmp} entries left in TMPDIR after shutdown`);
const orphans = workerPidsAfter.filter((pid) => {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
});
if (orphans.length) problems.push(`worker processes still alive after exit: ${orphans.join(", ")}`);
await receiver.shutdown();
await Deno.remove(work, { recursive: true }).catch(() => {});

const summary = {
  seed: SEED,
  predictions: finalCounts.total,
  abortedBeforeAccepted: neverAccepted,
  warmup: WARMUP,
  main: TOTAL,
  clients: CLIENTS,
  seconds: Math.round((Date.now() - t0) / 100) / 10,
  throughput: Math.round(TOTAL / mainSeconds),
  outcomes,
  lost,
  cancelsSent: counts.cancelsSent,
  clientDisconnects: counts.disconnects,
  sseSubscribersLeft: counts.sseLeft,
  extraSubscribersLeft: counts.extraSubscribers,
  refused409Retried: counts.refused409,
  webhookRequests: webhookStats.requests,
  webhookFailuresInjected: webhookStats.failedOnPurpose,
  terminalWebhookRetries: webhookStats.terminalRetries,
  terminalWebhooksDelivered: [...delivered.values()].reduce((a, d) => a + d.count, 0),
  duplicateTerminalWebhooks: webhookStats.duplicates,
  before,
  after,
  exitCode: exit?.code ?? null,
  tmpEntriesAfterExit: leftInTmp,
  problems: problems.slice(0, 20),
  problemCount: problems.length,
};
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
console.log(
  `soak (seed ${SEED}): ${summary.predictions} predictions (${WARMUP} warm-up + ${TOTAL}) by ${CLIENTS} clients in ${summary.seconds} s`,
);
console.log(`  outcomes: ${JSON.stringify(outcomes)}, lost: ${lost}`);
console.log(
  `  cancels sent ${counts.cancelsSent}, client disconnects ${counts.disconnects}, SSE subscribers left ${
    counts.sseLeft + counts.extraSubscribers
  }, 409s retried ${counts.refused409}`,
);
console.log(
  `  webhooks: ${webhookStats.requests} requests, ${webhookStats.failedOnPurpose} failed on purpose (${webhookStats.terminalRetries} terminal, retried), ${summary.terminalWebhooksDelivered} terminal delivered, ${webhookStats.duplicates} duplicates`,
);
console.log(
  `  server RSS ${mb(before.serverRssKb)} -> ${mb(after.serverRssKb)}, worker RSS ${
    mb(before.workerRssKb)
  } -> ${mb(after.workerRssKb)}`,
);
console.log(
  `  fds server ${before.serverFds} -> ${after.serverFds}, worker ${before.workerFds} -> ${after.workerFds}; children ${before.children} -> ${after.children}; temp files ${before.tempFiles} -> ${after.tempFiles}; exit ${summary.exitCode}, TMPDIR entries after exit ${leftInTmp}`,
);
for (const p of problems.slice(0, 20)) console.log(`  PROBLEM: ${p}`);
console.log(`SOAK_SUMMARY ${JSON.stringify(summary)}`);
Deno.exit(problems.length === 0 ? 0 : 1);
