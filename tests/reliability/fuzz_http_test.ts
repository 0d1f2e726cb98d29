// Property-based fuzzing (fast-check) of the HTTP surface, against the real
// server and a real Python worker (fixture fuzz_inputs: one input of every
// kind). Hostile bodies (random bytes, invalid UTF-8, huge strings, deep
// nesting, NaN/Infinity spellings, wrong types, duplicate keys), headers,
// paths, content types and raw bytes on the socket, file inputs (bare paths,
// odd schemes, data URLs with odd parameters, local http URLs) and webhook
// URLs (random schemes and shapes; valid ones only ever point at a local
// receiver), Origin headers. Properties:
//  - no answer is a 5xx; every 4xx carries a message; 2xx are predictions;
//  - a file input that is not an http(s)/data URL is a 422 naming it, and no
//    host file reaches an answer; a bad webhook is a 422 naming the field and
//    is never called; a valid one is called;
//  - nothing hangs (every request has a generous deadline);
//  - the server keeps working: a valid prediction succeeds after every batch.
// Prints how many cases ran.

import fc from "fast-check";
import { assert, assertEquals } from "../_assert.ts";
import { startFixture, startReceiver, type TestServer, waitFor } from "../_helpers.ts";

const DEADLINE_MS = 20_000;
const OK_STATUSES = new Set([200, 202, 400, 403, 404, 405, 406, 408, 409, 413, 415, 422, 429]);
const FIELDS = [
  "text",
  "count",
  "scale",
  "flag",
  "items",
  "anything",
  "choice",
  "bounded",
  "token",
  "file",
  "unknown_field",
  "__proto__",
  "constructor",
];
const SECRET = "s3cr3t-fuzz-token";

let cases = 0;

async function send(
  s: TestServer,
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  cases++;
  const response = await fetch(`${s.url}${path}`, {
    method,
    body: init.body,
    headers: init.headers,
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  return { status: response.status, text: await response.text() };
}

function checkAnswer(answer: { status: number; text: string }, what: string): void {
  assert(
    OK_STATUSES.has(answer.status),
    `${what}: status ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  if (answer.status >= 400) {
    assert(answer.text.trim().length > 0, `${what}: ${answer.status} without a message`);
  } else if (answer.text) {
    const body = JSON.parse(answer.text);
    assert(typeof body.id === "string" && typeof body.status === "string", what);
  }
  assert(!answer.text.includes(SECRET), `${what}: the secret was echoed`);
}

/** Waits for in-flight work to end, then a valid prediction must succeed. */
async function stillServes(s: TestServer): Promise<void> {
  await waitFor(() => s.server.service.inFlight.length === 0, DEADLINE_MS, "in-flight predictions");
  const health = await s.request("GET", "/health-check");
  assertEquals(health.body.status, "READY");
  const r = await s.request("POST", "/predictions", { input: { text: "still alive" } });
  assertEquals(r.status, 200);
  assertEquals(r.body.status, "succeeded");
  assertEquals(r.body.output.text, "still alive");
}

// Values of every shape, with the awkward corners.
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      -0,
      1e308,
      -1e308,
      2 ** 53 + 1,
      -(2 ** 63),
      0.1,
      "",
      "\u0000",
      "\ud800",
      "\udfff\ud800",
      "NaN",
      "Infinity",
      "a".repeat(100_000),
      "data:text/plain;base64,aGVsbG8=",
      "data:,hello%20world",
      "data:;base64,!!!",
      "file:///etc/passwd",
      "ftp://example.invalid/x",
      "javascript:alert(1)",
      "../../../../etc/passwd",
    ),
    fc.double(),
    fc.integer(),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Serialized JSON with spellings JSON.stringify never makes (NaN, 1e999, duplicate keys). */
const hostileJsonText = fc.oneof(
  hostileValue.map((v) =>
    JSON.stringify({
      input: {
        token: SECRET,
        ...(typeof v === "object" && v !== null && !Array.isArray(v) ? v : { anything: v }),
      },
    })
  ),
  fc.constantFrom(
    '{"input":{"scale":NaN}}',
    '{"input":{"scale":Infinity}}',
    '{"input":{"scale":-Infinity}}',
    '{"input":{"scale":1e999}}',
    '{"input":{"count":1e999}}',
    '{"input":{"count":1.0}}',
    '{"input":{"count":1.5}}',
    '{"input":{"text":"a","text":"b"}}',
    '{"input":{"text":"a"},"input":{"text":"b"}}',
    '{"input":{"text":"a"},"input":null}',
    '{"input":[]}',
    '{"input":"text"}',
    '{"input":{}}',
    '{"input":{"text":"\\ud800"}}',
    '{"input":{"text":"\\u0000"}}',
    '{"id":"","input":{}}',
    '{"id":123,"input":{}}',
    '{"webhook":"file:///etc/passwd","input":{}}',
    '{"webhook_events_filter":["nope"],"input":{}}',
    '{"context":{"a":1},"input":{}}',
    '{"input":{"anything":' + "[".repeat(199) + "1" + "]".repeat(199) + "}}",
    '{"input":{"anything":' + "[".repeat(250) + "1" + "]".repeat(250) + "}}",
    "[".repeat(100_000),
    '{"input":{"text":"x"}',
    "null",
    "true",
    '"string"',
    "[]",
    "",
    "   ",
    "\ufeff{}",
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
);

const contentType = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/vnd.api+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
    ";",
    "application/json; charset=latin1",
  ),
  fc.string({ unit: "grapheme-ascii", maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s)),
);

Deno.test({
  name: "fuzz: hostile HTTP input never gets a 5xx, never hangs, and the server keeps serving",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s = await startFixture("fuzz_inputs", {
      settings: {
        COG_SHUTDOWN_GRACE: "5",
        COG_MAX_BODY_BYTES: String(2 * 1024 * 1024),
        COG_INPUT_DOWNLOAD_TIMEOUT: "5",
      },
    });
    // Local receivers only: the fuzzer never reaches another host.
    const files = startReceiver(() => new Response("file bytes"));
    const hooks = startReceiver();
    const start = cases;
    try {
      // 1. raw bodies (random bytes: invalid UTF-8 included) under random content types
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 400 }),
            hostileJsonText.map((t) => new TextEncoder().encode(t)),
          ),
          fc.option(contentType, { nil: undefined }),
          fc.constantFrom("POST /predictions", "PUT /predictions/fuzz-id", "POST /trainings"),
          async (body, type, route) => {
            const [method, path] = route.split(" ");
            const headers: Record<string, string> = {};
            if (type !== undefined) headers["content-type"] = type;
            checkAnswer(await send(s, method, path, { body, headers }), `${route} ${type}`);
          },
        ),
        { numRuns: 400 },
      );
      await stillServes(s);
      const afterBodies = cases;

      // 2. well-formed JSON with hostile inputs of every type
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 5 }),
          fc.record({
            id: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
            context: fc.option(
              fc.dictionary(fc.string({ maxLength: 5 }), hostileValue, { maxKeys: 2 }),
              {
                nil: undefined,
              },
            ),
            webhook_events_filter: fc.option(
              fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
              {
                nil: undefined,
              },
            ),
          }, { requiredKeys: [] }),
          async (input, extra) => {
            const body = JSON.stringify({ ...extra, input: { ...input, token: SECRET } });
            checkAnswer(
              await send(s, "POST", "/predictions", {
                body,
                headers: { "content-type": "application/json" },
              }),
              body.slice(0, 200),
            );
          },
        ),
        { numRuns: 400 },
      );
      await stillServes(s);
      const afterInputs = cases;

      // 2b. file inputs: bare paths, other schemes, data URLs with odd parameters, local URLs
      const pathLike = fc.oneof(
        fc.constantFrom(
          "/etc/passwd",
          "/proc/self/environ",
          "/dev/zero",
          "../../../etc/passwd",
          "~/.ssh/id_rsa",
          "C:\\Windows\\win.ini",
          "",
          " http://x/",
          "\u0000",
          "file:///etc/passwd",
          "FILE:/etc/passwd",
          "ftp://h/x",
          "gopher://h/",
          "javascript:alert(1)",
          "httpx://h/",
          "http:/etc/passwd",
        ),
        fc.string({ maxLength: 30 }).map((p) => `/${p}`),
        fc.tuple(fc.stringMatching(/^[a-z][a-z0-9+.-]{1,8}$/), fc.string({ maxLength: 20 }))
          .filter(([scheme]) => !/^(https?|data)$/.test(scheme))
          .map(([scheme, rest]) => `${scheme}://${rest}`),
      );
      const urlLike = fc.oneof(
        fc.tuple(
          fc.constantFrom("text/plain", "image/png", "", "application/x-nope", "a/b;c=d"),
          fc.array(
            fc.oneof(
              fc.constant("base64"),
              fc.string({ maxLength: 12 }).map((n) => `name=${encodeURIComponent(n)}`),
              fc.string({ maxLength: 12 }).map((n) => `name=${n}`),
              fc.constantFrom(
                "name=..%2F..%2Fetc%2Fpasswd",
                "name=%00",
                "name=%",
                "name=..",
                "x=y",
              ),
            ),
            { maxLength: 3 },
          ),
          fc.oneof(
            fc.constantFrom("aGk=", "hi", "%ff", "!!!", ""),
            fc.base64String({ maxLength: 40 }),
          ),
        ).map(([type, params, payload]) => `data:${[type, ...params].join(";")},${payload}`),
        fc.string({ maxLength: 20 }).map((p) => `${files.url}/${encodeURIComponent(p)}`),
        fc.constantFrom(`${files.url}/a.png?x=1`, `${files.url}/%2e%2e/%2e%2e/etc/passwd`),
      );
      let refusedFiles = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            pathLike.map((v) => ({ value: v, local: true })),
            urlLike.map((v) => ({ value: v, local: false })),
          ),
          fc.boolean(),
          async ({ value, local }, asList) => {
            // `file` is Optional[Path]; a list is the wrong type, which must win over the path check.
            const input = { file: asList ? [value] : value, token: SECRET };
            const answer = await send(s, "POST", "/predictions", {
              body: JSON.stringify({ input }),
              headers: { "content-type": "application/json" },
            });
            const what = `file=${JSON.stringify(input.file).slice(0, 120)}`;
            checkAnswer(answer, what);
            assert(!answer.text.includes("root:x:0:0"), `${what}: a host file leaked`);
            const body = JSON.parse(answer.text);
            if (asList) {
              assertEquals(answer.status, 422, what);
              return;
            }
            if (local) {
              refusedFiles++;
              assertEquals(answer.status, 422, `${what}: ${answer.text.slice(0, 200)}`);
              assertEquals(body.detail[0].loc, ["body", "input", "file"], what);
              assert(body.detail[0].msg.startsWith('input "file": '), what);
            } else {
              assertEquals(answer.status, 200, `${what}: ${answer.text.slice(0, 200)}`);
              assert(["succeeded", "failed"].includes(body.status), what);
            }
          },
        ),
        { numRuns: 300 },
      );
      assert(refusedFiles > 50, `only ${refusedFiles} local file values tried`);
      await stillServes(s);
      const afterFiles = cases;

      // 2c. webhook URLs: anything but http(s) with a host is a 422 and never called
      const hookPath = fc.stringMatching(/^[a-z0-9]{1,12}$/);
      const badWebhook = fc.oneof(
        fc.constantFrom(
          "file:///etc/passwd",
          "ftp://example.invalid/x",
          "not a url",
          "http://",
          "https:///",
          "//example.invalid/x",
          "/relative",
          "javascript:alert(1)",
          "data:,x",
          "http://[::1",
          "http://%zz/",
          "mailto:a@b",
          " ",
        ),
        fc.tuple(fc.stringMatching(/^[a-z][a-z0-9+.-]{0,8}$/), fc.string({ maxLength: 20 }))
          .filter(([scheme]) => scheme !== "http" && scheme !== "https")
          .map(([scheme, rest]) => `${scheme}:${rest}`),
        fc.string({ maxLength: 30 }).filter((v) => v !== ""),
      ).filter((url) => {
        // What the URL parser would take for http(s) (it trims spaces and control characters)
        // is a valid webhook: never generated here, it would leave the machine.
        try {
          return !/^https?:$/.test(new URL(url).protocol);
        } catch {
          return true;
        }
      });
      let delivered = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            badWebhook.map((url) => ({ url, valid: false })),
            hookPath.map((p) => ({ url: `${hooks.url}/h/${p}`, valid: true })),
          ),
          fc.constantFrom("POST /predictions", "PUT /predictions/fuzz-hook"),
          async ({ url, valid }, route) => {
            const [method, path] = route.split(" ");
            const unique = `${path}-${cases}`;
            const answer = await send(s, method, method === "PUT" ? unique : path, {
              body: JSON.stringify({
                input: { text: "hook" },
                webhook: valid ? `${url}-${cases}` : url,
                webhook_events_filter: ["completed"],
              }),
              headers: { "content-type": "application/json" },
            });
            const what = `webhook=${JSON.stringify(url)}`;
            checkAnswer(answer, what);
            if (!valid) {
              assertEquals(answer.status, 422, `${what}: ${answer.text.slice(0, 200)}`);
              assertEquals(JSON.parse(answer.text).detail[0].loc, ["body", "webhook"], what);
            } else {
              assertEquals(answer.status, 200, `${what}: ${answer.text.slice(0, 200)}`);
              delivered++;
            }
          },
        ),
        { numRuns: 200 },
      );
      await waitFor(() => hooks.received.length === delivered, DEADLINE_MS, "valid webhooks");
      assert(
        hooks.received.every((r) => r.path.startsWith("/h/")),
        "a webhook went somewhere it should not",
      );
      await stillServes(s);
      const afterHooks = cases;

      // 3. hostile headers: Prefer, Accept, trace context, Origin, odd values
      const headerValue = fc.string({ unit: "grapheme-ascii", maxLength: 60 }).filter((v) =>
        !/[\r\n\0]/.test(v)
      );
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            prefer: fc.oneof(fc.constant("respond-async"), headerValue),
            accept: fc.oneof(
              fc.constantFrom("text/event-stream", "*/*", "application/json"),
              headerValue,
            ),
            traceparent: headerValue,
            tracestate: headerValue,
            "x-forwarded-for": headerValue,
            origin: fc.oneof(fc.constantFrom("null", "http://evil.example"), headerValue),
          }, { requiredKeys: [] }),
          async (headers) => {
            checkAnswer(
              await send(s, "POST", "/predictions", {
                body: JSON.stringify({ input: { text: "h", token: SECRET } }),
                headers: { ...headers, "content-type": "application/json" },
              }),
              JSON.stringify(headers),
            );
          },
        ),
        { numRuns: 200 },
      );
      await stillServes(s);
      const afterHeaders = cases;

      // 4. paths and methods
      const segment = fc.oneof(
        fc.constantFrom(
          "..",
          ".",
          "%2e%2e",
          "%00",
          "%ff",
          "%",
          "predictions",
          "cancel",
          "trainings",
          "v1",
          "files",
          "models",
          "stream",
          "",
          "😀",
        ),
        fc.string({ unit: "grapheme-ascii", maxLength: 12 }).map(encodeURIComponent),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(segment, { maxLength: 5 }),
          fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
          async (segments, method) => {
            const path = "/" + segments.join("/");
            const answer = await send(s, method, path, {
              body: method === "GET" || method === "HEAD" ? undefined : "{}",
              headers: { "content-type": "application/json" },
            });
            const ok = OK_STATUSES.has(answer.status) || (answer.status < 400);
            assert(ok && answer.status < 500, `${method} ${path}: ${answer.status}`);
            if (answer.status >= 400 && method !== "HEAD") {
              assert(
                answer.text.trim().length > 0,
                `${method} ${path}: ${answer.status} without a message`,
              );
            }
          },
        ),
        { numRuns: 300 },
      );
      await stillServes(s);
      const afterPaths = cases;

      // 5. raw bytes on the socket (broken request lines, bad header bytes)
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ minLength: 1, maxLength: 300 }),
            fc.tuple(fc.uint8Array({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 })).map(
              ([a, b]) => {
                const head = new TextEncoder().encode("POST /predictions HTTP/1.1\r\nHost: x\r\n");
                return new Uint8Array([...head, ...a, 13, 10, 13, 10, ...b]);
              },
            ),
          ),
          async (bytes) => {
            cases++;
            const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.server.port });
            try {
              await conn.write(bytes).catch(() => 0);
              const buffer = new Uint8Array(4096);
              const timer = setTimeout(() => conn.close(), 3000);
              const n = await conn.read(buffer).catch(() => null);
              clearTimeout(timer);
              if (n) {
                const head = new TextDecoder().decode(buffer.subarray(0, n));
                const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
                assert(status < 500, `raw bytes got ${status}`);
              }
            } finally {
              try {
                conn.close();
              } catch {
                // closed by the timer
              }
            }
          },
        ),
        { numRuns: 150 },
      );
      await stillServes(s);
      const afterRaw = cases;

      // 6. explicit extremes
      const huge = JSON.stringify({ input: { text: "x".repeat(3 * 1024 * 1024) } });
      checkAnswer(
        await send(s, "POST", "/predictions", {
          body: huge,
          headers: { "content-type": "application/json" },
        }),
        "3 MiB body",
      );
      const deepOk = '{"input":{"anything":' + '{"a":'.repeat(190) + "1" + "}".repeat(190) + "}}";
      const deep = await send(s, "POST", "/predictions", {
        body: deepOk,
        headers: { "content-type": "application/json" },
      });
      assertEquals(deep.status, 200, deep.text);
      assertEquals(JSON.parse(deep.text).status, "succeeded", deep.text);
      const surrogate = await send(s, "POST", "/predictions", {
        body: '{"input":{"text":"\\ud800 lone"}}',
        headers: { "content-type": "application/json" },
      });
      assertEquals(JSON.parse(surrogate.text).status, "succeeded", surrogate.text);
      await stillServes(s);

      const errors = s.logs.filter((l) => l.startsWith("error:"));
      assertEquals(errors, [], "the server logged internal errors");
      console.log(
        `fuzz_http: ${cases - start} cases (bodies ${afterBodies - start}, inputs ${
          afterInputs - afterBodies
        }, file inputs ${afterFiles - afterInputs}, webhooks ${afterHooks - afterFiles}, ` +
          `headers ${afterHeaders - afterHooks}, paths ${afterPaths - afterHeaders}, raw socket ${
            afterRaw - afterPaths
          }, ` +
          `extremes ${cases - afterRaw}); no 5xx, no hang, server still serving`,
      );
    } finally {
      await s.close();
      await files.close();
      await hooks.close();
    }
  },
});
