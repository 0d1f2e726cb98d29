// Shared test helpers: start the real server in-process on port 0 with a real
// Python worker on a fixture predictor, real HTTP receivers, and polling.

// deno-lint-ignore-file no-explicit-any -- response bodies are untyped JSON in tests
import { type RunningServer, startServer } from "../src/cli/server.ts";

/** Directory of the fixture predictors. */
export const FIXTURES = new URL("./fixtures/predictors/", import.meta.url).pathname;

/** A server started on a fixture, plus what it logged. */
export interface TestServer {
  url: string;
  server: RunningServer;
  logs: string[];
  /** POST/PUT JSON and return status + parsed body. */
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** Options for {@linkcode startFixture}. */
export interface FixtureOptions {
  /** COG_* settings as environment values. */
  settings?: Record<string, string>;
  uploadUrl?: string;
  env?: Record<string, string>;
  mode?: "predict" | "train";
  /** Wait until health is no longer STARTING (default true). */
  waitSetup?: boolean;
  /** Use this directory instead of the named fixture. */
  dir?: string;
  /** Hot reload (--watch). */
  watch?: boolean;
}

/** Starts the real server on a fixture predictor. */
export async function startFixture(
  name: string,
  options: FixtureOptions = {},
): Promise<TestServer> {
  const logs: string[] = [];
  // Files the models write themselves (tempfile.mkdtemp() etc.) land here and go with the server.
  const modelTmp = await Deno.makeTempDir({ prefix: "cog-test-models-" });
  const server = await startServer({
    cwd: options.dir ?? `${FIXTURES}${name}`,
    port: 0,
    host: "127.0.0.1",
    uploadUrl: options.uploadUrl,
    env: { TMPDIR: modelTmp, ...options.env },
    mode: options.mode,
    watch: options.watch,
    settings: options.settings ?? {},
    logger: (level, message) => logs.push(`${level}: ${message}`),
  });
  const url = server.url;
  const request: TestServer["request"] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // plain text body
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  const test: TestServer = {
    url,
    server,
    logs,
    request,
    close: async () => {
      await server.shutdown();
      await Deno.remove(modelTmp, { recursive: true }).catch(() => {});
    },
  };
  if (options.waitSetup !== false) {
    await waitFor(
      async () => {
        const health = await request("GET", "/health-check");
        return health.body.status !== "STARTING";
      },
      30_000,
      "setup to finish",
    );
  }
  return test;
}

/** Polls `predicate` every 20 ms until it is true; throws after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** One request a receiver got. */
export interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: Uint8Array;
  json(): any;
}

/** A real HTTP server that records requests and answers with `respond`. */
export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** Starts a recording HTTP receiver on 127.0.0.1:0. */
export function startReceiver(
  respond: (request: Received, index: number) => Response | Promise<Response> = () =>
    new Response("ok"),
): Receiver {
  const received: Received[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    const url = new URL(req.url);
    const entry: Received = {
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body,
      json: () => JSON.parse(new TextDecoder().decode(body)),
    };
    received.push(entry);
    return await respond(entry, received.length - 1);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

/** Writes a throwaway predictor project and returns its directory. */
export async function writeProject(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cog-test-project-" });
  for (const [name, content] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, content);
  }
  return dir;
}

/** Reads an SSE response into events until it closes. */
export async function readSse(response: Response): Promise<{ event: string; data: any }[]> {
  const text = await response.text();
  const events: { event: string; data: any }[] = [];
  for (const block of text.split("\n\n")) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ event, data: JSON.parse(data.join("\n")) });
  }
  return events;
}

/** `cog serve --no-docker` running as its own process (see {@linkcode spawnCliServer}). */
export interface CliServer {
  url: string;
  child: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far. */
  output(): string;
  /** The worker's pid, from the server's "worker started (pid N" line. */
  workerPid(): number;
  /** Waits for the process to exit and for its stderr to be read to the end. */
  exit(): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `main.ts serve --no-docker -p 0 ...args` in `cwd` and resolves once it
 * printed "Serving at" and its health is `waitFor` (default READY; null: don't wait).
 * With `ownProcessGroup` the server's pid is also its process group id.
 */
export async function spawnCliServer(
  cwd: string,
  args: string[] = [],
  env: Record<string, string> = {},
  waitForStatus: string | null = "READY",
  options: { ownProcessGroup?: boolean } = {},
): Promise<CliServer> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const command = [Deno.execPath(), "run", "-A", main, "serve", "--no-docker", "-p", "0", ...args];
  // setsid: the server leads a process group of its own, which a test can signal
  // as a whole (as a terminal's Ctrl+C or systemd's KillMode=control-group do).
  if (options.ownProcessGroup) command.unshift("setsid");
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let url = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    url = /Serving at (http:\/\/\S+)/.exec(seen)?.[1] ?? "";
  }
  const drained = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      seen += value;
    }
  })();
  if (!url) {
    await child.status;
    await drained;
    throw new Error(`no "Serving at" line in ${seen}`);
  }
  if (waitForStatus !== null) {
    await waitFor(
      async () => {
        const r = await fetch(`${url}/health-check`);
        const status = (await r.json()).status;
        return waitForStatus === "READY" ? status === "READY" : status !== "STARTING"; // "settled"
      },
      60_000,
      `the CLI server to be ${waitForStatus}`,
    );
  }
  return {
    url,
    child,
    output: () => seen,
    workerPid: () => Number(/worker started \(pid (\d+)/.exec(seen)?.[1]),
    exit: async () => {
      const status = await child.status;
      await drained;
      return status;
    },
  };
}

/** A real HTTP server that never answers (see {@linkcode startStallingServer}). */
export interface StallingServer {
  url: string;
  /** Requests received. */
  hits(): number;
  /** Requests whose client has not gone away yet. */
  open(): number;
  /** Answers whatever is still waiting and stops. */
  close(): Promise<void>;
}

/**
 * An HTTP server that never answers: a stalled download source, or an upload
 * receiver that hangs. Plain TCP, so it sees at once when a client goes away
 * (it reads and discards whatever arrives until the connection closes).
 */
export function startStallingServer(): StallingServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let hits = 0;
  const serve = async () => {
    for await (const conn of listener) {
      hits++;
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(64 * 1024);
        try {
          while ((await conn.read(buffer)) !== null) {
            // discard: never answer
          }
        } catch {
          // reset by the client
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      })();
    }
  };
  const serving = serve().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    hits: () => hits,
    open: () => conns.size,
    close: async () => {
      listener.close();
      for (const conn of [...conns]) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      conns.clear();
      await serving;
    },
  };
}
