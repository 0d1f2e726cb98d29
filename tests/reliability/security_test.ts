// Security properties: input URL schemes, upload names that cannot escape the
// upload path, Secret inputs masked everywhere, loopback bind by default,
// containers without --privileged / host networking, no shell strings.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import {
  checkInputUrl,
  InputFileError,
  uploadFile,
  uploadPathSegment,
} from "../../src/server/files.ts";
import { parseServeFlags } from "../../src/cli/serve.ts";
import { runArgs, serveCommand } from "../../src/docker/run_args.ts";
import { startFixture, startReceiver, waitFor } from "../_helpers.ts";

const REPO = new URL("../../", import.meta.url).pathname;

Deno.test("input URLs: only http, https and data; other schemes and redirects to them are refused", async () => {
  for (
    const url of [
      "file:///etc/passwd",
      "FILE:/etc/passwd",
      "ftp://h/x",
      "gopher://h/",
      "ssh://h",
      "javascript://x",
    ]
  ) {
    let error: unknown = null;
    try {
      checkInputUrl("image", url);
    } catch (e) {
      error = e;
    }
    assert(error instanceof InputFileError, url);
    assertMatch(
      (error as Error).message,
      /is not a valid URL scheme\. 'data', 'http', or 'https' is supported/,
    );
  }
  for (const url of ["http://h/x", "https://h/x", "data:,x"]) checkInputUrl("image", url);

  const origin = startReceiver(() =>
    new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } })
  );
  const s = await startFixture("file_inputs");
  try {
    const viaFile = await s.request("POST", "/predictions", {
      input: { image: "file:///etc/passwd" },
    });
    assertEquals(viaFile.status, 422);
    assertMatch(viaFile.body.detail[0].msg, /'file' is not a valid URL scheme/);
    const viaRedirect = await s.request("POST", "/predictions", {
      input: { image: `${origin.url}/r` },
    });
    assertEquals(viaRedirect.body.status, "failed");
    assertMatch(viaRedirect.body.error, /redirects to a file: URL, which is not allowed/);
    assert(!JSON.stringify(viaRedirect.body).includes("root:"), "file content leaked");
  } finally {
    await s.close();
    await origin.close();
  }
});

Deno.test("upload names are one encoded path segment under the upload URL (../ and odd characters)", async () => {
  const base = "http://h/bucket/sub/";
  for (
    const name of [
      "..",
      ".",
      "../../etc",
      "a/b",
      "a b?c#d%2e.txt",
      "%2e%2e",
      "..%2f",
      "é ü.png",
      "",
    ]
  ) {
    const url = new URL(uploadPathSegment(name), base);
    assert(url.href.startsWith(base), `${JSON.stringify(name)} -> ${url.href}`);
    assertEquals(url.pathname.slice("/bucket/sub/".length).includes("/"), false, name);
    assertEquals(url.search, "");
    assertEquals(url.hash, "");
  }
  // a real upload of a file with odd characters lands under the upload path
  const receiver = startReceiver();
  const dir = await Deno.makeTempDir({ prefix: "cog-upload-" });
  try {
    const path = `${dir}/..%2f a?b#c.txt`;
    await Deno.writeTextFile(path, "data");
    const url = await uploadFile(path, "text/plain", {
      uploadUrl: `${receiver.url}/bucket/sub`,
      downloadTimeoutMs: 5000,
      maxDownloadBytes: 1000,
      maxRedirects: 2,
      attempts: 1,
      uploadTimeoutMs: 5000,
    }, {});
    assertEquals(receiver.received.length, 1);
    assertEquals(receiver.received[0].path, "/bucket/sub/..%252f%20a%3Fb%23c.txt");
    assert(url.startsWith(`${receiver.url}/bucket/sub/`), url);
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Secret inputs never appear in answers, webhooks, logs or error messages", async () => {
  const SECRET = "hunter2";
  const receiver = startReceiver();
  const s = await startFixture("secret", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" } });
  const f = await startFixture("fuzz_inputs");
  try {
    const r = await s.request("POST", "/predictions", {
      input: { token: SECRET },
      webhook: `${receiver.url}/hook`,
    });
    assertEquals(r.body.status, "succeeded");
    assertEquals(r.body.output, true);
    assertEquals(r.body.input.token, "**********");
    const asyncR = await s.request("POST", "/predictions", { input: { token: SECRET } }, {
      prefer: "respond-async",
    });
    assertEquals(asyncR.body.input.token, "**********");
    await waitFor(
      () => receiver.received.some((x) => x.json().status === "succeeded"),
      10_000,
      "webhook",
    );
    await waitFor(() => s.server.service.inFlight.length === 0, 10_000, "idle");
    // wrong types for a Secret: the 422 message masks the value
    for (const bad of [12345, [SECRET], { v: SECRET }, true]) {
      const e = await f.request("POST", "/predictions", { input: { token: bad } });
      assertEquals(e.status, 422);
      assert(
        !JSON.stringify(e.body).includes(SECRET) && !JSON.stringify(e.body).includes("12345"),
        JSON.stringify(e.body),
      );
    }
    const everything = [
      JSON.stringify(r.body),
      JSON.stringify(asyncR.body),
      ...receiver.received.map((x) => new TextDecoder().decode(x.body)),
      ...s.logs,
      ...f.logs,
    ].join("\n");
    assert(!everything.includes(SECRET), "the secret leaked");
    assert(r.body.logs.includes("token is **********"), r.body.logs);
  } finally {
    await s.close();
    await f.close();
    await receiver.close();
  }
});

Deno.test("the server binds 127.0.0.1 unless told otherwise", () => {
  const flags = parseServeFlags([]);
  assert(flags !== "help");
  assertEquals(flags.host, "127.0.0.1");
  const noDocker = parseServeFlags(["--no-docker"]);
  assert(noDocker !== "help");
  assertEquals(noDocker.host, "127.0.0.1");
  const told = parseServeFlags(["--host", "0.0.0.0"]);
  assert(told !== "help");
  assertEquals(told.host, "0.0.0.0");
});

Deno.test("containers run without --privileged, host networking or extra capabilities", () => {
  const args = runArgs({
    image: "cog-x",
    name: "cog-serve-x",
    port: 8393,
    host: "127.0.0.1",
    projectDir: "/p",
    gpus: "all",
    env: ["A=1"],
    addHostGateway: true,
    command: serveCommand("http://host.docker.internal:9000/"),
  });
  for (
    const forbidden of ["--privileged", "--cap-add", "--pid", "--ipc", "--userns", "--security-opt"]
  ) {
    assert(!args.some((a) => a === forbidden || a.startsWith(`${forbidden}=`)), forbidden);
  }
  const network = args.findIndex((a) =>
    a === "--network" || a === "--net" || a.startsWith("--network=") || a.startsWith("--net=")
  );
  assert(
    network === -1 || !/host/.test(args[network] + (args[network + 1] ?? "")),
    "host networking",
  );
  // the port is published on the loopback interface only
  assertEquals(args[args.indexOf("-p") + 1], "127.0.0.1:8393:5000");
});

Deno.test("no shell strings anywhere: processes are spawned with argument arrays", async () => {
  const offenders: string[] = [];
  const patterns = [
    /new Deno\.Command\(\s*["'`](?:\/bin\/)?(?:ba)?sh["'`]/,
    /["'`]-c["'`]\s*,/,
    /shell\s*[:=]\s*true/i,
    /\bexecSync\b|\bchild_process\b/,
    /os\.system\(|os\.popen\(|shell=True|commands\.getoutput/,
  ];
  async function walk(dir: string) {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        if (entry.name !== "__pycache__" && entry.name !== "tests") await walk(path);
      } else if (/\.(ts|py)$/.test(entry.name)) {
        const text = await Deno.readTextFile(path);
        for (const p of patterns) {
          if (p.test(text)) offenders.push(`${path.slice(REPO.length)}: ${p}`);
        }
      }
    }
  }
  await walk(`${REPO}src`);
  await walk(`${REPO}python/cog`);
  assertEquals(offenders, []);
});
