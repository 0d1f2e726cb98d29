// What an attacker on the network (or a web page in the user's browser) sends,
// against the real server and a real Python worker:
//  - a bare filesystem path as a file input: 422 naming the input and the
//    allowed schemes, the predictor never runs (COG_ALLOW_LOCAL_FILE_INPUTS=1
//    is the explicit opt-in for trusted setups);
//  - webhook URLs that are not http(s) with a host: 422 naming the field, and
//    nothing is ever sent;
//  - cross-site POSTs (what a page can make a browser send without a
//    preflight) to /shutdown, create, PUT, cancel: 403 and the server keeps
//    serving; same-origin requests, allowed origins and API clients (no
//    Origin) keep working; a same-origin /shutdown stops the server. A real
//    Chromium on another origin submits a form to /shutdown: refused.

import { type Browser, chromium } from "playwright-core";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { FIXTURES, spawnCliServer, startFixture, startReceiver, waitFor } from "../_helpers.ts";

const LOCAL =
  /^input "(\w+)": "[^"]*" is not a URL\. 'data', 'http', or 'https' is supported; local paths are refused over HTTP\.$/;

Deno.test("a bare path as a file input is a 422 naming the input; the predictor never runs", async () => {
  const secret = await Deno.makeTempFile({ prefix: "cog-secret-" });
  await Deno.writeTextFile(secret, "TOP-SECRET");
  const s = await startFixture("file_inputs");
  try {
    const url = "data:text/plain;base64,aGk=";
    const cases: [Record<string, unknown>, string][] = [
      [{ image: "/etc/passwd" }, "image"],
      [{ image: secret }, "image"],
      [{ image: url, doc: "/proc/self/environ" }, "doc"],
      [{ image: url, photos: [url, "/etc/passwd"] }, "photos/1"],
      [{ image: url, maybe: "../../etc/passwd" }, "maybe"],
      [{ image: url, either: "relative.png" }, "either"],
    ];
    for (const [input, loc] of cases) {
      for (const headers of [{}, { prefer: "respond-async" }] as Record<string, string>[]) {
        const r = await s.request("POST", "/predictions", { input }, headers);
        assertEquals(r.status, 422, JSON.stringify(r.body));
        assertEquals(r.body.detail.length, 1, JSON.stringify(r.body));
        assertEquals(r.body.detail[0].loc, ["body", "input", loc]);
        assertEquals(r.body.detail[0].type, "value_error");
        assertMatch(r.body.detail[0].msg, LOCAL);
        assertEquals(LOCAL.exec(r.body.detail[0].msg)![1], loc.split("/")[0]);
      }
    }
    const put = await s.request("PUT", "/predictions/local-1", { input: { image: secret } });
    assertEquals(put.status, 422);
    const scheme = await s.request("POST", "/predictions", {
      input: { image: "file:///etc/passwd" },
    });
    assertEquals(scheme.status, 422);
    assertEquals(
      scheme.body.detail[0].msg,
      `input "image": 'file' is not a valid URL scheme. 'data', 'http', or 'https' is supported.`,
    );
    // str inputs holding paths are the model's business (Cog passes them through).
    const text = await s.request("POST", "/predictions", {
      input: { image: url, text: "/etc/passwd", texts: ["/etc/shadow"] },
    });
    assertEquals(text.body.status, "succeeded", text.body.error);
    assertEquals(text.body.output.text, "/etc/passwd");
    // The predictor prints every path it got: none of the refused ones reached it.
    const seen = s.logs.filter((line) => /\bpath \//.test(line));
    assertEquals(seen.length, 1, seen.join("\n")); // the data URL of the last prediction
    assert(!seen.some((line) => line.includes(secret) || line.includes("/etc/")), seen.join("\n"));
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
    await Deno.remove(secret);
  }
});

Deno.test("COG_ALLOW_LOCAL_FILE_INPUTS=1 lets a trusted setup pass local paths", async () => {
  const file = await Deno.makeTempFile({ prefix: "cog-local-", suffix: ".txt" });
  await Deno.writeTextFile(file, "local bytes");
  const s = await startFixture("file_inputs", { settings: { COG_ALLOW_LOCAL_FILE_INPUTS: "1" } });
  try {
    const r = await s.request("POST", "/predictions", { input: { image: file } });
    assertEquals(r.body.status, "succeeded", r.body.error);
    assertEquals(r.body.output.image.size, "local bytes".length);
    // Other URL schemes are still refused (the prediction fails, as in Cog).
    const ftp = await s.request("POST", "/predictions", { input: { image: "ftp://h/x" } });
    assertEquals(ftp.body.status, "failed");
    assertMatch(ftp.body.error, /'ftp' is not a valid URL scheme/);
  } finally {
    await s.close();
    await Deno.remove(file);
  }
  let error: unknown = null;
  try {
    await startFixture("file_inputs", { settings: { COG_ALLOW_LOCAL_FILE_INPUTS: "maybe" } });
  } catch (e) {
    error = e;
  }
  assertMatch(String(error), /COG_ALLOW_LOCAL_FILE_INPUTS=maybe is not a boolean: use 1 or 0/);
});

Deno.test("webhook URLs that are not http(s) with a host are a 422 naming the field, and nothing is sent", async () => {
  const receiver = startReceiver();
  const s = await startFixture("echo");
  try {
    const bad: [string, RegExp][] = [
      ["file:///etc/passwd", /^'file' is not an allowed webhook URL scheme/],
      ["ftp://example.com/hook", /^'ftp' is not an allowed webhook URL scheme/],
      ["javascript:alert(1)", /^'javascript' is not an allowed webhook URL scheme/],
      ["not a url", /^"not a url" is not a URL: webhook must be an http:\/\/ or https:\/\/ URL$/],
      ["http://", /is not a URL/],
      ["/relative/hook", /is not a URL/],
    ];
    for (const [webhook, pattern] of bad) {
      for (const [method, path] of [["POST", "/predictions"], ["PUT", "/predictions/wh-1"]]) {
        const r = await s.request(method, path, { input: { text: "x" }, webhook }, {
          prefer: "respond-async",
        });
        assertEquals(r.status, 422, `${webhook}: ${JSON.stringify(r.body)}`);
        assertEquals(r.body.detail[0].loc, ["body", "webhook"]);
        assertEquals(r.body.detail[0].type, "value_error");
        assertMatch(r.body.detail[0].msg, pattern);
      }
    }
    // "" means no webhook (as before); a real one works.
    const none = await s.request("POST", "/predictions", { input: { text: "x" }, webhook: "" });
    assertEquals(none.body.status, "succeeded");
    const good = await s.request("POST", "/predictions", {
      input: { text: "y" },
      webhook: `${receiver.url}/hook`,
      webhook_events_filter: ["completed"],
    });
    assertEquals(good.body.status, "succeeded");
    await waitFor(() => receiver.received.length === 1, 10_000, "the terminal webhook");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(receiver.received.map((r) => r.path), ["/hook"]);
  } finally {
    await s.close();
    await receiver.close();
  }
});

async function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${path}`, { method, headers, body });
  return { status: response.status, text: await response.text() };
}

Deno.test("cross-site POST /shutdown, create, PUT and cancel are 403 and the server lives; same-origin works", async () => {
  const s = await spawnCliServer(`${FIXTURES}echo`, [], {
    COG_ALLOWED_ORIGINS: "https://app.example.com, http://localhost:9999",
  });
  try {
    const simple = { "content-type": "text/plain" }; // a "simple" request: no CORS preflight
    const json = { "content-type": "application/json" };
    const body = JSON.stringify({ input: { text: "x" } });
    const foreign: Record<string, string>[] = [
      { origin: "http://evil.example" },
      { origin: "null" }, // sandboxed iframes, file: pages
      { origin: s.url.replace("127.0.0.1", "localhost") }, // another host name is another origin
      { origin: "http://127.0.0.1:1" }, // another port
      { "sec-fetch-site": "cross-site" }, // a browser that sent no Origin
    ];
    for (const headers of foreign) {
      for (
        const [method, path, extra] of [
          ["POST", "/shutdown", simple],
          ["POST", "/predictions", json],
          ["POST", "/predictions", simple],
          ["PUT", "/predictions/xs-1", json],
          ["POST", "/predictions/xs-1/cancel", simple],
          ["POST", "/trainings", json],
        ] as const
      ) {
        const r = await send(s.url, method, path, { ...extra, ...headers }, body);
        assertEquals(r.status, 403, `${method} ${path} ${JSON.stringify(headers)}: ${r.text}`);
        assertMatch(
          JSON.parse(r.text).detail,
          /^Cross-origin request refused: .* is not this server's origin \(http:\/\/127\.0\.0\.1:\d+\)\. A web page cannot drive this server; to allow another origin, set COG_ALLOWED_ORIGINS\.$/,
        );
      }
    }
    // Still alive, nothing ran; reads are not refused.
    const health = await send(s.url, "GET", "/health-check", { origin: "http://evil.example" });
    assertEquals(health.status, 200);
    assertEquals(JSON.parse(health.text).status, "READY");

    // API clients (no Origin), the server's own origin (the playground) and allowed origins work.
    const friendly: Record<string, string>[] = [
      {},
      { origin: s.url, "sec-fetch-site": "same-origin" },
      { origin: "https://app.example.com" },
      { origin: "http://localhost:9999" },
    ];
    for (const headers of friendly) {
      const r = await send(s.url, "POST", "/predictions", { ...json, ...headers }, body);
      assertEquals(r.status, 200, `${JSON.stringify(headers)}: ${r.text}`);
      assertEquals(JSON.parse(r.text).status, "succeeded");
    }
    // A same-origin shutdown stops the server.
    const stop = await send(s.url, "POST", "/shutdown", { ...simple, origin: s.url });
    assertEquals(stop.status, 200);
    assertEquals((await s.exit()).code, 0);
  } finally {
    try {
      s.child.kill("SIGKILL");
    } catch {
      // exited
    }
    await s.exit();
  }
});

const CHROMIUM = Deno.env.get("COG_TEST_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then((info) => info.isFile, () => false);

Deno.test({
  name:
    "a page on another origin that submits a form to /shutdown (real Chromium) cannot stop the server",
  ignore: !hasChromium,
  async fn() {
    const s = await spawnCliServer(`${FIXTURES}echo`);
    // The attacker's page: auto-submits a text/plain form and fires a no-cors fetch.
    const attacker = startReceiver(() =>
      new Response(
        `<!doctype html><body><form id="f" method="POST" enctype="text/plain" ` +
          `action="${s.url}/shutdown"><input name="a" value="b"></form>` +
          `<script>fetch("${s.url}/predictions", {method: "POST", mode: "no-cors", ` +
          `body: '{"input":{"text":"pwned"}}'}).finally(() => document.getElementById("f").submit());` +
          `</script></body>`,
        { headers: { "content-type": "text/html" } },
      )
    );
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
      });
      const page = await browser.newPage();
      const answers: number[] = [];
      page.on("response", (response) => {
        if (response.url().startsWith(s.url)) answers.push(response.status());
      });
      await page.goto(`${attacker.url}/`);
      await waitFor(() => answers.length >= 2, 15_000, "the fetch and the form post");
      await page.waitForLoadState("load");
      assertEquals(answers.at(-1), 403, `answers: ${answers}`);
      const health = await fetch(`${s.url}/health-check`);
      assertEquals((await health.json()).status, "READY");
      assert(!s.output().includes("shutting down"), s.output());
      assert(!s.output().includes("pwned"), "the cross-site prediction ran");
    } finally {
      await browser?.close();
      await attacker.close();
      try {
        s.child.kill("SIGINT");
      } catch {
        // the attack stopped it: the assertions above say so
      }
      await s.exit();
    }
  },
});
