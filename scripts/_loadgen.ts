// The benchmark's load generator (run by scripts/bench.ts as a separate
// process, so its CPU cost never lands in the measured server). It speaks raw
// HTTP/1.1 over Deno.connect with keep-alive: the same client, with the same
// per-request cost, drives both the floor (a bare Deno.serve) and the server.
//
//   deno run -A scripts/_loadgen.ts '<json config>'   -> one JSON result line on stdout
//
// Modes:
//   http:  N connections, each sending the same request back to back for
//          `durationMs` (after `warmupMs`); latency percentiles, req/s, statuses.
//   sse:   one POST with Accept: text/event-stream; for every `output` event whose
//          chunk is "i:<yield time_ns>", the delay from yield to arrival.
//   bytes: one request; counts the body bytes without keeping them; wall time.

interface HttpConfig {
  mode: "http";
  url: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationMs: number;
  warmupMs: number;
}

interface SseConfig {
  mode: "sse";
  url: string;
  body: string;
  python: string;
}

interface BytesConfig {
  mode: "bytes";
  url: string;
  body: string;
}

type Config = HttpConfig | SseConfig | BytesConfig;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A keep-alive HTTP/1.1 connection that reads responses with one growing buffer. */
class Conn {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    conn.setNoDelay(true);
  }

  static async open(url: URL): Promise<Conn> {
    return new Conn(await Deno.connect({ hostname: url.hostname, port: Number(url.port) }));
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  async #fill(): Promise<void> {
    if (this.#start > 0 && this.#start === this.#end) {
      this.#start = this.#end = 0;
    }
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) throw new Error("connection closed");
    this.#end += n;
  }

  async #line(): Promise<string> {
    while (true) {
      const i = this.#buf.subarray(this.#start, this.#end).indexOf(10);
      if (i >= 0) {
        const line = decoder.decode(this.#buf.subarray(this.#start, this.#start + i)).replace(
          /\r$/,
          "",
        );
        this.#start += i + 1;
        return line;
      }
      await this.#fill();
    }
  }

  /** Consumes `n` body bytes, handing each piece to `sink` (if any). */
  async #take(n: number, sink?: (bytes: Uint8Array) => void): Promise<void> {
    while (n > 0) {
      if (this.#start === this.#end) await this.#fill();
      const k = Math.min(n, this.#end - this.#start);
      sink?.(this.#buf.subarray(this.#start, this.#start + k));
      this.#start += k;
      n -= k;
    }
  }

  /** Reads one response; the body goes to `sink` piece by piece. */
  async response(sink?: (bytes: Uint8Array) => void): Promise<{ status: number }> {
    const statusLine = await this.#line();
    const status = Number(statusLine.split(" ")[1]);
    let length = -1;
    let chunked = false;
    while (true) {
      const line = await this.#line();
      if (line === "") break;
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding" && value.toLowerCase().includes("chunked")) {
        chunked = true;
      }
    }
    if (chunked) {
      while (true) {
        const size = parseInt(await this.#line(), 16);
        if (size === 0) {
          await this.#line();
          break;
        }
        await this.#take(size, sink);
        await this.#line();
      }
    } else if (length >= 0) {
      await this.#take(length, sink);
    }
    return { status };
  }
}

function request(
  url: URL,
  method: string,
  body: string,
  headers: Record<string, string>,
): Uint8Array {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (method !== "GET") {
    lines.push(`content-length: ${encoder.encode(body).length}`);
  }
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n" + (method !== "GET" ? body : ""));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  return {
    n: arr.length,
    min: arr[0] ?? NaN,
    p50: percentile(arr, 50),
    p90: percentile(arr, 90),
    p99: percentile(arr, 99),
    max: arr[arr.length - 1] ?? NaN,
  };
}

async function runHttp(config: HttpConfig) {
  const url = new URL(config.url);
  const bytes = request(url, config.method ?? "GET", config.body ?? "", config.headers ?? {});
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + config.warmupMs;
  const stopAt = measureFrom + config.durationMs;
  let measuredEnd = measureFrom;
  let count = 0;
  let total = 0; // every completed request, warm-up included (for CPU per request)
  const worker = async () => {
    let conn: Conn | null = null;
    while (performance.now() < stopAt) {
      try {
        conn ??= await Conn.open(url);
        const t0 = performance.now();
        await conn.write(bytes);
        const { status } = await conn.response();
        const t1 = performance.now();
        total++;
        if (t0 >= measureFrom && t1 <= stopAt) {
          latencies.push(t1 - t0);
          statuses[status] = (statuses[status] ?? 0) + 1;
          count++;
          if (t1 > measuredEnd) measuredEnd = t1;
        }
      } catch {
        errors++;
        conn?.close();
        conn = null;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    conn?.close();
  };
  await Promise.all(Array.from({ length: config.connections }, worker));
  const seconds = (measuredEnd - measureFrom) / 1000;
  return {
    latency_ms: summary(latencies),
    rps: count / seconds,
    statuses,
    errors,
    seconds,
    total,
  };
}

/**
 * performance.now() -> the Python worker's clock (time.time_ns()), calibrated
 * NTP-style against a python3 child: of 200 round trips, the fastest gives the
 * offset (error below half its round trip, a few microseconds).
 */
async function pythonClock(python: string): Promise<() => number> {
  const child = new Deno.Command(python, {
    args: [
      "-u",
      "-c",
      "import sys, time\nfor _ in iter(sys.stdin.buffer.readline, b''):\n" +
      "    sys.stdout.write(str(time.time_ns()) + '\\n'); sys.stdout.flush()\n",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await writer.write(encoder.encode("\n"));
    let text = "";
    while (!text.includes("\n")) text += decoder.decode((await reader.read()).value);
    const t1 = performance.now();
    if (t1 - t0 < best) {
      best = t1 - t0;
      offset = Number(text.trim()) - ((t0 + t1) / 2) * 1e6;
    }
  }
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.status;
  return () => performance.now() * 1e6 + offset;
}

async function runSse(config: SseConfig) {
  const url = new URL(config.url);
  const clock = await pythonClock(config.python);
  const conn = await Conn.open(url);
  const delays: number[] = [];
  let text = "";
  let completed = "";
  let events = 0;
  const t0 = performance.now();
  await conn.write(request(url, "POST", config.body, {
    "content-type": "application/json",
    accept: "text/event-stream",
  }));
  await conn.response((piece) => {
    const arrived = clock();
    text += decoder.decode(piece, { stream: true });
    let cut = text.indexOf("\n\n");
    while (cut >= 0) {
      const frame = text.slice(0, cut);
      text = text.slice(cut + 2);
      cut = text.indexOf("\n\n");
      events++;
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? "";
      if (event === "output") {
        const chunk = JSON.parse(data).chunk as string;
        const yielded = Number(chunk.slice(chunk.indexOf(":") + 1));
        delays.push((arrived - yielded) / 1e6);
      } else if (event === "completed") {
        completed = JSON.parse(data).status;
      }
    }
  });
  conn.close();
  return {
    delay_ms: summary(delays),
    tokens: delays.length,
    events,
    status: completed,
    wall_ms: performance.now() - t0,
  };
}

async function runBytes(config: BytesConfig) {
  const url = new URL(config.url);
  const conn = await Conn.open(url);
  let bytes = 0;
  let head = "";
  const t0 = performance.now();
  await conn.write(request(url, "POST", config.body, { "content-type": "application/json" }));
  const { status } = await conn.response((piece) => {
    if (head.length < 200) head += decoder.decode(piece.subarray(0, 200));
    bytes += piece.length;
  });
  const wall = performance.now() - t0;
  conn.close();
  return { status, bytes, wall_ms: wall, head: head.slice(0, 200) };
}

const config = JSON.parse(Deno.args[0]) as Config;
const result = config.mode === "http"
  ? await runHttp(config)
  : config.mode === "sse"
  ? await runSse(config)
  : await runBytes(config);
console.log(JSON.stringify(result));
