// deno-lint-ignore-file no-explicit-any
import { type DockerFigures, type DockerMeasured, measureDocker } from "./_bench_docker.ts";
// `deno task bench [--quick]`: measures the server against the floor in one run.
//
// Loopback only, no network, bounded in time (about 80 s; --quick about 40 s).
// The server runs as `deno run -A main.ts serve --no-docker -p 0` in
// bench/predictors/<name>/; the load comes from scripts/_loadgen.ts in a separate
// process; the floor is scripts/_floor.ts (a bare Deno.serve, optionally with a
// pipe round trip to python3 per request) driven by the same load generator, plus
// a JSON-line round trip over a pipe to a python3 child measured from here.
// CPU per request is the server's and its worker's utime+stime from /proc (the floor's:
// the floor process and its python3 child) over a load run, divided by the requests it
// completed. Without --quick, a Docker section (skipped with a printed reason when no
// engine is reachable) builds two models with `cog build` and reports the runtime layer's
// size, the layers they share, cold boot (docker run -> READY) and the rebuild time after
// editing predict.py. Prints a table (figure, measured, floor, ratio, target) and writes
// bench/results.json. See docs/performance.md.

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const modelTmp = await Deno.makeTempDir({ prefix: "cog-bench-models-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(modelTmp, { recursive: true });
  } catch {
    // already gone
  }
});
const quick = Deno.args.includes("--quick");
const deno = Deno.execPath();
// The real interpreter behind "python3" (a pyenv shim is a bash script that costs
// ~200 ms per start): the server's worker, the floor and the import timing all use it.
const python = Deno.env.get("COG_PYTHON") ?? resolvePython("python3");

function resolvePython(name: string): string {
  const out = new Deno.Command(name, { args: ["-c", "import sys; print(sys.executable)"] })
    .outputSync();
  const path = new TextDecoder().decode(out.stdout).trim();
  return out.success && path ? path : name;
}
const pythonPath = `${root}/python`;

const WARMUP_MS = quick ? 300 : 1000;
const DURATION_MS = quick ? 1500 : 3000;
const STREAM_TOKENS = 2000;
const LONG_STREAM_TOKENS = 10_000;
const STREAM_INTERVAL_MS = quick ? 0.25 : 1;
const BIG_MIB = quick ? 16 : 100;
const STARTUP_RUNS = quick ? 2 : 5;
const PIPE_ROUND_TRIPS = quick ? 2000 : 5000;
const ROUNDS = quick ? 1 : 3;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function log(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`bench: ${text}\n`));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- /proc sampling ---------------------------------------------------------------------

function procStatus(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** Resets VmHWM to the current RSS (Linux clear_refs 5); false if not allowed. */
function resetPeak(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Samples VmRSS every `everyMs` until stopped; returns the maximum seen (MiB). */
function sampleRss(pid: number, everyMs = 5): { stop: () => number } {
  let max = procStatus(pid)?.rss ?? 0;
  const timer = setInterval(() => {
    const s = procStatus(pid);
    if (s && s.rss > max) max = s.rss;
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLK_TCK = (() => {
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"] }).outputSync();
    const n = Number(decoder.decode(out.stdout).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** `pid` and all its descendants (from /proc/<pid>/task/<tid>/children). */
function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      for (const task of Deno.readDirSync(`/proc/${all[i]}/task`)) {
        const text = Deno.readTextFileSync(`/proc/${all[i]}/task/${task.name}/children`);
        for (const child of text.trim().split(/\s+/)) if (child) all.push(Number(child));
      }
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

/** CPU time (user + system, ms) used so far by `pid` and its descendants. */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
      // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

/** Runs a load against the process tree of `pid`; adds its CPU per completed request. */
async function withCpu(pid: number, load: () => Promise<any>): Promise<any> {
  const before = treeCpuMs(pid);
  const result = await load();
  const cpu = treeCpuMs(pid) - before;
  return {
    ...result,
    cpu_ms: cpu,
    cpu_ms_per_request: result.total > 0 ? cpu / result.total : NaN,
  };
}

// ---- subprocesses -------------------------------------------------------------------------

async function loadgen(config: Record<string, unknown>): Promise<any> {
  const out = await new Deno.Command(deno, {
    args: ["run", "-A", `${root}/scripts/_loadgen.ts`, JSON.stringify(config)],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).output();
  if (!out.success) throw new Error(`load generator failed (${config.mode})`);
  return JSON.parse(decoder.decode(out.stdout).trim().split("\n").at(-1)!);
}

interface Server {
  url: string;
  pid: number;
  workerPid: number | null;
  stderr: string[];
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts `main.ts serve --no-docker` in bench/predictors/<name> and waits for READY. */
async function startServer(
  name: string,
  options: { env?: Record<string, string>; extraArgs?: string[]; port?: number; cpuProf?: string } =
    {},
): Promise<Server> {
  const args = ["run", "-A"];
  if (options.cpuProf) args.push(`--cpu-prof`, `--cpu-prof-dir=${options.cpuProf}`);
  args.push(`${root}/main.ts`, "serve", "--no-docker", "-p", String(options.port ?? 0));
  args.push(...(options.extraArgs ?? []));
  const child = new Deno.Command(deno, {
    args,
    cwd: `${root}/bench/predictors/${name}`,
    // The models' own temp files (the 100 MiB outputs) go to a directory removed at the end.
    env: { COG_PYTHON: python, TMPDIR: modelTmp, ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let workerPid: number | null = null;
  let resolveUrl: (url: string) => void = () => {};
  const urlReady = new Promise<string>((r) => (resolveUrl = r));
  (async () => {
    let pending = "";
    for await (const bytes of child.stderr) {
      pending += decoder.decode(bytes, { stream: true });
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
        if (lines.length < 200) lines.push(line);
        const url = /Serving at (http:\/\/\S+)/.exec(line)?.[1];
        if (url) resolveUrl(url.replace("localhost", "127.0.0.1"));
        const wp = /worker started \(pid (\d+)/.exec(line)?.[1];
        if (wp) workerPid = Number(wp);
      }
    }
  })();
  const exited = child.status;
  const url = await Promise.race([
    urlReady,
    exited.then(() => {
      throw new Error(`server for ${name} exited early:\n${lines.join("\n")}`);
    }),
    sleep(30_000).then(() => {
      throw new Error(`server for ${name} did not start:\n${lines.join("\n")}`);
    }),
  ]);
  await waitReady(url, 30_000);
  return {
    url,
    pid: child.pid,
    get workerPid() {
      return workerPid;
    },
    stderr: lines,
    async stop() {
      try {
        await (await fetch(`${url}/shutdown`, { method: "POST" })).body?.cancel();
      } catch {
        // already gone
      }
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
        await exited;
      }
    },
  };
}

async function health(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/health-check`);
    return (await res.json()).status ?? null;
  } catch {
    return null;
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await health(url);
    if (status === "READY") return;
    if (status === "SETUP_FAILED" || status === "DEFUNCT") throw new Error(`server is ${status}`);
    await sleep(2);
  }
  throw new Error(`server at ${url} not READY after ${timeoutMs} ms`);
}

// ---- the floor ------------------------------------------------------------------------------

async function startFloor(
  pipe: boolean,
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = new Deno.Command(deno, {
    args: ["run", "-A", `${root}/scripts/_floor.ts`, ...(pipe ? ["--pipe"] : [])],
    env: { COG_PYTHON: python },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("floor server exited");
    text += decoder.decode(value);
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url: `http://127.0.0.1:${text.trim()}`,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Median/p99 of one JSON line round trip to a python3 child echoing lines (ms). */
async function pipeRoundTrip(): Promise<{ p50: number; p99: number }> {
  const child = new Deno.Command(python, {
    args: [
      "-u",
      "-c",
      "import sys\nr = sys.stdin.buffer\nw = sys.stdout.buffer\n" +
      "for line in iter(r.readline, b''):\n    w.write(line)\n    w.flush()\n",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const line = encoder.encode(
    JSON.stringify({
      v: 1,
      type: "output",
      id: "pred_0000000000000000",
      index: 0,
      value: "hello",
      files: [],
    }) +
      "\n",
  );
  const times: number[] = [];
  for (let i = 0; i < PIPE_ROUND_TRIPS + 200; i++) {
    const t0 = performance.now();
    await writer.write(line);
    let got = 0;
    while (got < line.length) {
      const { value } = await reader.read();
      got += value!.length;
    }
    if (i >= 200) times.push(performance.now() - t0);
  }
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.status;
  return { p50: median(times), p99: pct(times, 99) };
}

// ---- measurements ---------------------------------------------------------------------------

const predictBody = JSON.stringify({ input: { text: "hello" } });

function httpConfig(url: string, connections: number, extra: Record<string, unknown> = {}) {
  return {
    mode: "http",
    url,
    connections,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
    ...extra,
  };
}

function postConfig(url: string, connections: number) {
  return httpConfig(`${url}/predictions`, connections, {
    method: "POST",
    body: predictBody,
    headers: { "content-type": "application/json" },
  });
}

/** A local upload receiver: counts PUT body bytes without buffering them. */
function startUploadReceiver(): { url: string; received: () => number; stop: () => Promise<void> } {
  let received = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (req.body) {
      for await (const chunk of req.body) received += chunk.length;
    }
    return new Response(null, {
      status: 201,
      headers: { location: `http://127.0.0.1/uploaded${new URL(req.url).pathname}` },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/upload/`,
    received: () => received,
    stop: () => server.shutdown(),
  };
}

async function bigFile(server: Server, label: string) {
  const reset = resetPeak(server.pid);
  const before = procStatus(server.pid)!;
  const sampler = sampleRss(server.pid);
  const result = await loadgen({
    mode: "bytes",
    url: `${server.url}/predictions`,
    body: JSON.stringify({ input: { mib: BIG_MIB } }),
  });
  const sampledPeak = sampler.stop();
  const after = procStatus(server.pid)!;
  const peak = reset ? Math.max(after.hwm, sampledPeak) : sampledPeak;
  const ok = result.status === 200 && String(result.head).includes('"succeeded"');
  log(
    `${label}: ${result.bytes} bytes in ${result.wall_ms.toFixed(0)} ms, RSS ${
      before.rss.toFixed(1)
    } -> peak ${peak.toFixed(1)} MiB`,
  );
  return {
    ok,
    status: result.status,
    response_bytes: result.bytes,
    wall_ms: result.wall_ms,
    rss_before_mib: before.rss,
    rss_peak_mib: peak,
    rss_growth_mib: peak - before.rss,
    peak_source: reset ? "VmHWM after clear_refs, and 5 ms VmRSS sampling" : "5 ms VmRSS sampling",
  };
}

async function timeCommand(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).output();
  const t = performance.now() - t0;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${decoder.decode(out.stderr)}`);
  }
  return t;
}

/** Process start -> /health-check READY for the empty-setup predictor (ms). */
async function startupToReady(): Promise<{ ready: number; listening: number }> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = new Deno.Command(deno, {
    args: ["run", "-A", `${root}/main.ts`, "serve", "--no-docker", "-p", String(port)],
    cwd: `${root}/bench/predictors/empty`,
    env: { COG_PYTHON: python },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let listening = NaN;
  try {
    while (performance.now() - t0 < 30_000) {
      const status = await health(url);
      if (status !== null && Number.isNaN(listening)) listening = performance.now() - t0;
      if (status === "READY") return { ready: performance.now() - t0, listening };
      await sleep(1);
    }
    throw new Error("empty predictor did not become READY");
  } finally {
    try {
      await (await fetch(`${url}/shutdown`, { method: "POST" })).body?.cancel();
    } catch {
      child.kill("SIGKILL");
    }
    await child.status;
  }
}

async function machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const pyVersion = await new Deno.Command(python, { args: ["--version"] }).output();
  return {
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    mem_gib: Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024 / 1024,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    python: `${
      decoder.decode(pyVersion.stdout).trim() || decoder.decode(pyVersion.stderr).trim()
    } (${python})`,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
  };
}

// ---- the run --------------------------------------------------------------------------------

const started = performance.now();
const results: Record<string, any> = {
  quick,
  date: new Date().toISOString(),
  machine: await machine(),
};

// Figures 1 and 2 and their floors are measured in interleaved rounds against servers
// that all stay up (an idle one costs nothing): floor, server, floor, server... On a
// shared machine whose speed drifts by tens of percent over a minute, measuring all the
// floors first and the servers a minute later skewed the ratios; each figure is the
// median over the rounds (per-round values are in results.json).
log("starting the floor servers and the sync and async echo servers");
const floorBare = await startFloor(false);
const floorPiped = await startFloor(true);
const syncServer = await startServer("echo");
const asyncServer = await startServer("echo_async", { env: { COG_MAX_CONCURRENCY: "8" } });
let idle: { server_rss_mib: number; worker_rss_mib: number };
const rounds: Record<string, any>[] = [];
try {
  await sleep(300);
  const s = procStatus(syncServer.pid);
  const w = syncServer.workerPid ? procStatus(syncServer.workerPid) : null;
  idle = { server_rss_mib: s?.rss ?? NaN, worker_rss_mib: w?.rss ?? NaN };
  const post = { method: "POST", body: predictBody };
  for (let r = 1; r <= ROUNDS; r++) {
    log(`round ${r}/${ROUNDS}: pipe round trip, then floor / server at 1 and 8 connections`);
    const round: Record<string, any> = { pipe: await pipeRoundTrip() };
    round.floorHttp1 = await loadgen(httpConfig(floorBare.url, 1, post));
    round.sync = await withCpu(syncServer.pid, () => loadgen(postConfig(syncServer.url, 1)));
    round.floorPiped1 = await withCpu(
      floorPiped.pid,
      () => loadgen(httpConfig(floorPiped.url, 1, post)),
    );
    round.floorHttp8 = await loadgen(httpConfig(floorBare.url, 8, post));
    round.floorPiped8 = await withCpu(
      floorPiped.pid,
      () => loadgen(httpConfig(floorPiped.url, 8, post)),
    );
    round.async8 = await withCpu(asyncServer.pid, () => loadgen(postConfig(asyncServer.url, 8)));
    rounds.push(round);
  }
} finally {
  await Promise.all([floorBare.stop(), floorPiped.stop(), syncServer.stop(), asyncServer.stop()]);
}

/** One load-generator result from several rounds: medians of the figures, sums of counts. */
function combine(results: any[]): any {
  const statuses: Record<string, number> = {};
  for (const r of results) {
    for (const [code, n] of Object.entries(r.statuses as Record<string, number>)) {
      statuses[code] = (statuses[code] ?? 0) + n;
    }
  }
  const latency: Record<string, number> = {};
  for (const key of Object.keys(results[0].latency_ms)) {
    latency[key] = median(results.map((r) => r.latency_ms[key]));
  }
  const cpu = results.map((r) => r.cpu_ms_per_request).filter((v) => typeof v === "number");
  return {
    latency_ms: latency,
    cpu_ms_per_request: cpu.length > 0 ? median(cpu) : null,
    rps: median(results.map((r) => r.rps)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    statuses,
    rounds: results.length,
  };
}

const pick = (key: string) => rounds.map((r) => r[key]);
const pipe = {
  p50: median(pick("pipe").map((p) => p.p50)),
  p99: median(pick("pipe").map((p) => p.p99)),
};
const floorHttp1 = combine(pick("floorHttp1"));
const floorHttp8 = combine(pick("floorHttp8"));
const floorPiped1 = combine(pick("floorPiped1"));
const floorPiped8 = combine(pick("floorPiped8"));
const sync = combine(pick("sync"));
const async8 = combine(pick("async8"));
results.floor = {
  pipe_round_trip_ms: pipe,
  http_1conn: floorHttp1,
  http_8conn: floorHttp8,
  http_plus_pipe_1conn: floorPiped1,
  http_plus_pipe_8conn: floorPiped8,
};
results.rounds = rounds.map((r) => ({
  pipe_p50_ms: r.pipe.p50,
  floor_http_1conn_p50_ms: r.floorHttp1.latency_ms.p50,
  sync_p50_ms: r.sync.latency_ms.p50,
  sync_ratio: r.sync.latency_ms.p50 / (r.floorHttp1.latency_ms.p50 + r.pipe.p50),
  floor_piped_8conn_rps: r.floorPiped8.rps,
  async8_rps: r.async8.rps,
  async8_ratio: r.async8.rps / r.floorPiped8.rps,
  cpu_per_request_ms: {
    sync_1conn: r.sync.cpu_ms_per_request,
    floor_piped_1conn: r.floorPiped1.cpu_ms_per_request,
    async_8conn: r.async8.cpu_ms_per_request,
    floor_piped_8conn: r.floorPiped8.cpu_ms_per_request,
  },
  cpu_ratio_1conn: r.sync.cpu_ms_per_request / r.floorPiped1.cpu_ms_per_request,
  cpu_ratio_8conn: r.async8.cpu_ms_per_request / r.floorPiped8.cpu_ms_per_request,
}));

log(`server: streaming ${STREAM_TOKENS} tokens`);
let stream: any;
{
  const server = await startServer("stream");
  try {
    stream = await loadgen({
      mode: "sse",
      python,
      url: `${server.url}/predictions`,
      body: JSON.stringify({ input: { tokens: STREAM_TOKENS, interval_ms: STREAM_INTERVAL_MS } }),
    });
  } finally {
    await server.stop();
  }
}

log(`server: streaming ${LONG_STREAM_TOKENS} tokens as fast as the predictor yields them`);
let longStream: any;
{
  const server = await startServer("stream");
  try {
    longStream = await loadgen({
      mode: "sse",
      python,
      url: `${server.url}/predictions`,
      body: JSON.stringify({ input: { tokens: LONG_STREAM_TOKENS, interval_ms: 0 } }),
    });
    longStream.tokens_per_s = longStream.tokens / (longStream.wall_ms / 1000);
  } finally {
    await server.stop();
  }
}

log(`server: ${BIG_MIB} MiB file output`);
let bigData: any, bigUpload: any;
{
  const server = await startServer("bigfile");
  try {
    bigData = await bigFile(server, "data URL");
  } finally {
    await server.stop();
  }
  const receiver = startUploadReceiver();
  const up = await startServer("bigfile", { extraArgs: ["--upload-url", receiver.url] });
  try {
    bigUpload = await bigFile(up, "upload");
    bigUpload.uploaded_bytes = receiver.received();
    bigUpload.ok = bigUpload.ok && bigUpload.uploaded_bytes === BIG_MIB * 1024 * 1024;
  } finally {
    await up.stop();
    await receiver.stop();
  }
}

log("startup: process start -> READY (empty setup) vs python3 -c 'import cog'");
const readyTimes: number[] = [];
const listenTimes: number[] = [];
const importTimes: number[] = [];
const pyBareTimes: number[] = [];
const denoBareTimes: number[] = [];
for (let i = 0; i < STARTUP_RUNS; i++) {
  const r = await startupToReady();
  readyTimes.push(r.ready);
  listenTimes.push(r.listening);
  importTimes.push(await timeCommand(python, ["-c", "import cog"], { PYTHONPATH: pythonPath }));
  pyBareTimes.push(await timeCommand(python, ["-c", "pass"]));
  denoBareTimes.push(await timeCommand(deno, ["eval", "0"]));
}

let docker: DockerFigures;
if (quick) {
  docker = { skipped: "not measured with --quick" };
} else {
  try {
    docker = await measureDocker({ root, deno, log, coldBoots: 3 });
  } catch (error) {
    docker = { skipped: `failed: ${error instanceof Error ? error.message : error}` };
  }
}
const dockerSkipped = "skipped" in docker ? docker.skipped : null;
const dm: DockerMeasured | null = "skipped" in docker ? null : docker;
if (dockerSkipped) log(`docker: skipped (${dockerSkipped})`);

// ---- table ------------------------------------------------------------------------------------

const floor1 = floorHttp1.latency_ms.p50 + pipe.p50;
const floorRps8 = floorPiped8.rps;
const startupOver = median(readyTimes) - median(importTimes);
const bigDataOk = bigData.ok;

interface Row {
  figure: string;
  measured: number;
  unit: string;
  floor: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

const rows: Row[] = [];
function row(
  figure: string,
  measured: number,
  unit: string,
  floor: number | null,
  target: string,
  met: boolean | null,
  ratio: number | null = floor ? measured / floor : null,
) {
  rows.push({ figure, measured, unit, floor, ratio, target, met });
}

// Figures 1 and 2: the ratio is the median of the per-round ratios (each round compares
// a floor and a server measured back to back: paired, so the machine's drift between
// rounds cancels out); measured and floor are the medians of their own values.
const syncRatio = median(
  rounds.map((r) => r.sync.latency_ms.p50 / (r.floorHttp1.latency_ms.p50 + r.pipe.p50)),
);
const asyncRatio = median(rounds.map((r) => r.async8.rps / r.floorPiped8.rps));

const syncOk = sync.errors === 0 && Object.keys(sync.statuses).every((s) => s === "200");
const asyncOk = async8.errors === 0 && Object.keys(async8.statuses).every((s) => s === "200");
const cpuRatio1 = median(results.rounds.map((r: any) => r.cpu_ratio_1conn));
const cpuRatio8 = median(results.rounds.map((r: any) => r.cpu_ratio_8conn));
row(
  "1 sync echo, 1 conn: p50",
  sync.latency_ms.p50,
  "ms",
  floor1,
  "<= 2x floor",
  syncOk && syncRatio <= 2,
  syncRatio,
);
row(
  "1 sync echo, 1 conn: p99",
  sync.latency_ms.p99,
  "ms",
  floorHttp1.latency_ms.p99 + pipe.p99,
  "",
  null,
);
row("1 sync echo, 1 conn: req/s", sync.rps, "req/s", 1000 / floor1, "", null);
row(
  "1 sync echo, 1 conn: CPU/request",
  sync.cpu_ms_per_request,
  "ms",
  floorPiped1.cpu_ms_per_request,
  "<= 1.25x floor",
  cpuRatio1 <= 1.25,
  cpuRatio1,
);
row(
  "2 async echo, 8 conns: req/s",
  async8.rps,
  "req/s",
  floorRps8,
  ">= 0.75x floor, no 409/errors",
  asyncOk && asyncRatio >= 0.75,
  asyncRatio,
);
row(
  "2 async echo, 8 conns: p99",
  async8.latency_ms.p99,
  "ms",
  floorPiped8.latency_ms.p99,
  "",
  null,
);
row(
  "2 async echo, 8 conns: CPU/request",
  async8.cpu_ms_per_request,
  "ms",
  floorPiped8.cpu_ms_per_request,
  "<= 1.25x floor",
  cpuRatio8 <= 1.25,
  cpuRatio8,
);
row(
  "3 stream yield->event: p50",
  stream.delay_ms.p50,
  "ms",
  pipe.p50,
  "<= 2x floor",
  stream.tokens === STREAM_TOKENS && stream.delay_ms.p50 <= 2 * pipe.p50,
);
row(
  "3 stream yield->event: p99",
  stream.delay_ms.p99,
  "ms",
  pipe.p99,
  "< 1 ms",
  stream.tokens === STREAM_TOKENS && stream.delay_ms.p99 < 1,
);
row(
  `3 stream ${LONG_STREAM_TOKENS} tokens: throughput`,
  longStream.tokens_per_s,
  "tokens/s",
  null,
  `all ${LONG_STREAM_TOKENS} arrive`,
  longStream.tokens === LONG_STREAM_TOKENS && longStream.status === "succeeded",
);
row(`4 ${BIG_MIB} MiB data URL: wall`, bigData.wall_ms, "ms", null, "", null);
row(
  `4 ${BIG_MIB} MiB data URL: RSS growth`,
  bigData.rss_growth_mib,
  "MiB",
  null,
  "< 64 MiB",
  bigDataOk && bigData.rss_growth_mib < 64,
);
row(`4 ${BIG_MIB} MiB upload: wall`, bigUpload.wall_ms, "ms", null, "", null);
row(
  `4 ${BIG_MIB} MiB upload: RSS growth`,
  bigUpload.rss_growth_mib,
  "MiB",
  null,
  "< 64 MiB",
  bigUpload.ok && bigUpload.rss_growth_mib < 64,
);
row(
  "5 start -> READY (empty setup)",
  median(readyTimes),
  "ms",
  median(importTimes),
  "<= import + 150 ms",
  startupOver <= 150,
);
row("6 idle RSS: server", idle.server_rss_mib, "MiB", null, "", null);
row("6 idle RSS: worker", idle.worker_rss_mib, "MiB", null, "", null);
if (dm) {
  row(
    "7 docker: runtime layer size",
    dm.runtime_layer_bytes / 1e6,
    "MB",
    null,
    "<= 100 MB",
    dm.runtime_layer_bytes <= 100e6,
  );
  row(
    "7 docker: layers shared by two models",
    dm.layers.shared,
    `of ${dm.layers.a}/${dm.layers.b}`,
    null,
    `base ${dm.base_layers} + runtime`,
    dm.runtime_layer_shared && dm.layers.shared >= dm.base_layers + 1,
  );
  row(
    "7 docker: cold boot (run -> READY)",
    median(dm.cold_boot_ms),
    "ms",
    null,
    "<= 1000 ms",
    median(dm.cold_boot_ms) <= 1000,
  );
  row(
    "7 docker: cog build after editing predict.py",
    dm.rebuild_after_edit_ms / 1000,
    "s",
    null,
    "",
    null,
  );
}

results.figures = {
  sync_1conn: sync,
  async_8conn: async8,
  stream,
  long_stream: longStream,
  docker,
  big_file_data_url: bigData,
  big_file_upload: bigUpload,
  startup: {
    ready_ms: readyTimes,
    listening_ms: listenTimes,
    python_import_cog_ms: importTimes,
    python_bare_ms: pyBareTimes,
    deno_eval_ms: denoBareTimes,
    ready_over_import_ms: startupOver,
  },
  idle_rss: idle,
};
results.floors_used = {
  "1": "bare Deno.serve p50 (1 conn) + pipe round trip p50",
  "2": "bare Deno.serve doing one python3 pipe round trip per request, 8 conns",
  "3": "pipe round trip (one pipe hop + one loopback hop are the least a token can travel)",
  "5": "python3 -c 'import cog'",
  "cpu": "the Deno.serve + pipe floor's process and its python3 child, same connections",
};
results.table = rows;
results.elapsed_s = (performance.now() - started) / 1000;

const fmt = (n: number | null, unit = "") => {
  if (n === null || Number.isNaN(n)) return "-";
  const s = Number.isInteger(n) || Math.abs(n) >= 100
    ? n.toFixed(0)
    : Math.abs(n) >= 10
    ? n.toFixed(1)
    : n.toFixed(3);
  return unit ? `${s} ${unit}` : s;
};
const header = ["figure", "measured", "floor", "ratio", "target", "met"];
const body = rows.map((r) => [
  r.figure,
  fmt(r.measured, r.unit),
  fmt(r.floor, r.floor === null ? "" : r.unit),
  r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`,
  r.target || "-",
  r.met === null ? "-" : r.met ? "yes" : "NO",
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells: string[]) =>
  "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
const out = [
  `cog for Deno benchmark${
    quick ? " (--quick)" : ""
  }: ${results.machine.cpu}, ${results.machine.cores} cores, ` +
  `deno ${results.machine.deno}, ${results.machine.python}`,
  "",
  line(header),
  "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|",
  ...body.map(line),
  "",
  `floor: bare Deno.serve p50 ${fmt(floorHttp1.latency_ms.p50, "ms")} (${
    fmt(floorHttp1.rps)
  } req/s) at 1 conn, ` +
  `${fmt(floorHttp8.rps)} req/s at 8 conns; pipe round trip p50 ${fmt(pipe.p50, "ms")} p99 ${
    fmt(pipe.p99, "ms")
  }; ` +
  `Deno.serve + pipe: ${fmt(floorPiped1.latency_ms.p50, "ms")} p50 at 1 conn, ${
    fmt(floorPiped8.rps)
  } req/s at 8 conns`,
  `rounds (ratio of figure 1 / figure 2 in each): ${
    results.rounds.map((r: any) => `${r.sync_ratio.toFixed(2)}x / ${r.async8_ratio.toFixed(2)}x`)
      .join(", ")
  }`,
  `startup: listening after ${fmt(median(listenTimes), "ms")}, READY after ${
    fmt(median(readyTimes), "ms")
  }; ` +
  `python3 -c 'import cog' ${fmt(median(importTimes), "ms")}, python3 -c pass ${
    fmt(median(pyBareTimes), "ms")
  }, ` +
  `deno eval ${fmt(median(denoBareTimes), "ms")}`,
  `CPU per request (server + worker, /proc utime+stime): ${
    fmt(sync.cpu_ms_per_request, "ms")
  } at 1 conn (floor ${fmt(floorPiped1.cpu_ms_per_request, "ms")}), ${
    fmt(async8.cpu_ms_per_request, "ms")
  } at 8 conns (floor ${fmt(floorPiped8.cpu_ms_per_request, "ms")}); rounds ${
    results.rounds.map((r: any) =>
      `${r.cpu_ratio_1conn.toFixed(2)}x / ${r.cpu_ratio_8conn.toFixed(2)}x`
    )
      .join(", ")
  }`,
  `stream: ${LONG_STREAM_TOKENS} tokens in ${fmt(longStream.wall_ms, "ms")} (${
    fmt(longStream.tokens_per_s)
  } tokens/s), yield->event p50 ${fmt(longStream.delay_ms.p50, "ms")}`,
  !dm
    ? `docker: skipped (${dockerSkipped})`
    : `docker: ${dm.runtime_image}, runtime layer ${
      (dm.runtime_layer_bytes / 1e6).toFixed(1)
    } MB (${dm.runtime_layer.slice(0, 19)}), same in both models: ${dm.runtime_layer_shared}; ` +
      `layers ${dm.layers.a} / ${dm.layers.b}, ${dm.layers.shared} shared (base ${dm.base_layers}); ` +
      `images ${(dm.image_bytes.a / 1e6).toFixed(0)} / ${
        (dm.image_bytes.b / 1e6).toFixed(0)
      } MB on a ${(dm.image_bytes.base / 1e6).toFixed(0)} MB base; first builds ${
        (dm.first_build_ms.a / 1000).toFixed(1)
      } s${dm.runtime_prepared_in_first_build ? " (runtime image prepared)" : ""} / ${
        (dm.first_build_ms.b / 1000).toFixed(1)
      } s; cold boots ${
        dm.cold_boot_ms.map((t: number) => t.toFixed(0)).join(", ")
      } ms; rebuild after editing predict.py ${
        (dm.rebuild_after_edit_ms / 1000).toFixed(1)
      } s (${dm.rebuild_steps.cached} of ${dm.rebuild_steps.total} steps cached)`,
  `statuses: sync ${JSON.stringify(sync.statuses)} errors ${sync.errors}; async ${
    JSON.stringify(async8.statuses)
  } ` +
  `errors ${async8.errors}; stream ${stream.tokens} tokens, ${stream.status}`,
  `elapsed ${results.elapsed_s.toFixed(1)} s; wrote bench/results.json`,
];
await Deno.writeTextFile(`${root}/bench/results.json`, JSON.stringify(results, null, 2) + "\n");
console.log(out.join("\n"));
