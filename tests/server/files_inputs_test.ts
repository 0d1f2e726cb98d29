// File inputs against the real server, a real Python worker and a real local
// file server: http(s) downloads (names, retries, redirects, limits, timeouts),
// data URLs, list/Optional/PEP 604 file fields, strings that look like URLs,
// clear failures, and temp files removed whatever the outcome.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { type Received, startFixture, startReceiver, waitFor } from "../_helpers.ts";

const encoder = new TextEncoder();

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesOf(seed: number, size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) % 256;
  return bytes;
}

const PNG = bytesOf(1, 5000);
const WAV = bytesOf(2, 3000);
const TXT = encoder.encode("hello from the file server\n");

/** A file server: /files/<anything> serves content chosen by the last path segment. */
function startFileServer(
  special: (request: Received, index: number) => Response | null = () => null,
) {
  return startReceiver((request, index) => {
    const override = special(request, index);
    if (override) return override;
    const path = decodeURIComponent(new URL(request.path, "http://x").pathname);
    if (path.endsWith(".png")) {
      return new Response(PNG, { headers: { "content-type": "image/png" } });
    }
    if (path.endsWith(".wav")) {
      return new Response(WAV, { headers: { "content-type": "audio/wav" } });
    }
    if (path.endsWith(".txt")) {
      return new Response(TXT, { headers: { "content-type": "text/plain" } });
    }
    return new Response("not found", { status: 404 });
  });
}

/** Local paths the predictor printed (one "path <p>" line per file it got). */
function printedPaths(logs: string): string[] {
  return [...logs.matchAll(/^path (.+)$/gm)].map((m) => m[1]);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("an http URL input is downloaded before predict() and keeps its name and extension", async () => {
  const files = startFileServer();
  const s = await startFixture("file_inputs");
  try {
    const { status, body } = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/files/cat%20photo.png?token=abc` },
    });
    assertEquals(status, 200);
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.image, {
      kind: "path",
      name: "cat photo.png",
      size: PNG.length,
      sha256: await sha256(PNG),
    });
    assertEquals(files.received.length, 1);
    assertEquals(files.received[0].method, "GET");
    assertEquals(files.received[0].path, "/files/cat%20photo.png?token=abc");
    assertEquals(
      body.input.image,
      `${files.url}/files/cat%20photo.png?token=abc`,
      "the input echoes the URL",
    );
  } finally {
    await s.close();
    await files.close();
  }
});

Deno.test("File, list[Path], Optional[Path] and PEP 604 Path | None inputs are all downloaded", async () => {
  const files = startFileServer();
  const s = await startFixture("file_inputs");
  try {
    const { body } = await s.request("POST", "/predictions", {
      input: {
        image: `${files.url}/a/one.png`,
        doc: `${files.url}/docs/readme.txt`,
        photos: [`${files.url}/p/x.png`, `${files.url}/p/y.wav`, `${files.url}/p/z.txt`],
        maybe: `${files.url}/m/maybe.wav`,
        either: `${files.url}/e/either.txt`,
      },
    });
    assertEquals(body.status, "succeeded", body.error);
    const out = body.output;
    assertEquals(out.doc, {
      kind: "file",
      name: "readme.txt",
      size: TXT.length,
      sha256: await sha256(TXT),
    });
    assertEquals(out.photos.map((p: { name: string }) => p.name), ["x.png", "y.wav", "z.txt"]);
    assertEquals(out.photos.map((p: { size: number }) => p.size), [
      PNG.length,
      WAV.length,
      TXT.length,
    ]);
    assertEquals(out.maybe.name, "maybe.wav");
    assertEquals(out.maybe.sha256, await sha256(WAV));
    assertEquals(out.either.name, "either.txt");
    assertEquals(files.received.length, 7);
    const omitted = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/a/one.png` },
    });
    assertEquals(omitted.body.output.maybe, null);
    assertEquals(omitted.body.output.photos, null);
  } finally {
    await s.close();
    await files.close();
  }
});

Deno.test("base64 and percent-encoded data URLs are decoded into files named file.<ext>", async () => {
  const s = await startFixture("file_inputs");
  try {
    const b64 = btoa(String.fromCharCode(...PNG));
    const { body } = await s.request("POST", "/predictions", {
      input: {
        image: `data:image/png;base64,${b64}`,
        maybe: "data:text/plain,hello%20world%0A",
        photos: [`data:audio/wav;base64,${btoa(String.fromCharCode(...WAV))}`],
      },
    });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.image.name, "file.png");
    assertEquals(body.output.image.sha256, await sha256(PNG));
    assertEquals(body.output.maybe.name, "file.txt");
    assertEquals(body.output.maybe.sha256, await sha256(encoder.encode("hello world\n")));
    assertEquals(body.output.photos[0].name, "file.wav");
    assertEquals(body.output.photos[0].size, WAV.length);
  } finally {
    await s.close();
  }
});

Deno.test("str inputs that look like URLs stay strings and are never fetched", async () => {
  const files = startFileServer();
  const s = await startFixture("file_inputs");
  try {
    const { body } = await s.request("POST", "/predictions", {
      input: {
        image: "data:text/plain,x",
        text: `${files.url}/files/should-not-be-fetched.png`,
        texts: [`${files.url}/files/nor-this.png`, "data:text/plain,nope"],
      },
    });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.text, `${files.url}/files/should-not-be-fetched.png`);
    assertEquals(body.output.texts, [`${files.url}/files/nor-this.png`, "data:text/plain,nope"]);
    assertEquals(files.received.length, 0);
  } finally {
    await s.close();
    await files.close();
  }
});

Deno.test("a download answered with 5xx is retried, redirects are followed, and names get an extension from Content-Type", async () => {
  const files = startFileServer((request, index) => {
    if (request.path.startsWith("/flaky/") && index < 2) {
      return new Response("busy", { status: 503 });
    }
    if (request.path.startsWith("/api/download")) {
      return new Response(PNG, { headers: { "content-type": "image/png; charset=binary" } });
    }
    if (request.path.startsWith("/api/raw")) {
      return new Response(PNG, { headers: { "content-type": "application/x-unknown" } });
    }
    if (request.path.startsWith("/moved")) {
      return new Response(null, { status: 302, headers: { location: "/final/landed.wav" } });
    }
    return null;
  });
  const s = await startFixture("file_inputs");
  try {
    const { body } = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/flaky/retry.png` },
    });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.image.sha256, await sha256(PNG));
    assertEquals(files.received.map((r) => r.path), [
      "/flaky/retry.png",
      "/flaky/retry.png",
      "/flaky/retry.png",
    ]);

    const noExtension = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/api/download?id=3`, maybe: `${files.url}/api/raw` },
    });
    assertEquals(noExtension.body.status, "succeeded", noExtension.body.error);
    assertEquals(
      noExtension.body.output.image.name,
      "download.png",
      "the extension comes from Content-Type",
    );
    assertEquals(
      noExtension.body.output.maybe.name,
      "raw",
      "no Content-Type mapping: the name stays as is",
    );

    const redirected = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/moved/start.png` },
    });
    assertEquals(redirected.body.status, "succeeded", redirected.body.error);
    assertEquals(redirected.body.output.image.name, "landed.wav");
    assertEquals(redirected.body.output.image.sha256, await sha256(WAV));
  } finally {
    await s.close();
    await files.close();
  }
});

Deno.test("unreachable hosts, 404s, 5xx after retries, bad schemes and malformed data URLs fail clearly", async () => {
  const files = startFileServer((request) =>
    request.path.startsWith("/down/") ? new Response("nope", { status: 500 }) : null
  );
  // A port that was open a moment ago and is closed now: connection refused.
  const closed = startReceiver();
  const closedUrl = closed.url;
  await closed.close();
  const s = await startFixture("file_inputs");
  try {
    const cases: [unknown, RegExp][] = [
      [
        `${files.url}/missing.bin`,
        /^Input validation error: image: could not download http:\/\/127\.0\.0\.1:\d+\/missing\.bin: HTTP 404$/,
      ],
      [
        `${files.url}/down/x.png`,
        /^Input validation error: image: could not download .*\/down\/x\.png: HTTP 500$/,
      ],
      [
        `${closedUrl}/x.png`,
        /^Input validation error: image: could not download http:\/\/127\.0\.0\.1:\d+\/x\.png: .*refused/i,
      ],
      [
        "data:image/png;base64,@@@not base64@@@",
        /^Input validation error: image: malformed data URL/,
      ],
      [
        "ftp://example.com/x.png",
        /'ftp' is not a valid URL scheme\. 'data', 'http', or 'https' is supported\./,
      ],
    ];
    for (const [image, pattern] of cases) {
      const { status, body } = await s.request("POST", "/predictions", { input: { image } });
      if (status === 422) {
        assertMatch(JSON.stringify(body.detail), pattern);
        continue;
      }
      assertEquals(status, 200);
      assertEquals(body.status, "failed", `input ${image}`);
      assertMatch(body.error, pattern);
      assertEquals(body.output, null);
    }
    assertEquals(
      files.received.filter((r) => r.path === "/missing.bin").length,
      1,
      "4xx is not retried",
    );
    assertEquals(
      files.received.filter((r) => r.path === "/down/x.png").length,
      3,
      "5xx is retried 3 times",
    );
    assertEquals((await s.request("GET", "/health-check")).body.status, "READY");
  } finally {
    await s.close();
    await files.close();
  }
});

Deno.test("a stalled download times out (COG_INPUT_DOWNLOAD_TIMEOUT) and an oversized one hits the size limit", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const files = startFileServer((request) => {
    if (!request.path.startsWith("/stall/")) return null;
    // Headers go out, then the body never finishes until the test ends.
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(10));
        await released;
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "image/png" } });
  });
  const s = await startFixture("file_inputs", {
    settings: { COG_INPUT_DOWNLOAD_TIMEOUT: "0.3", COG_MAX_INPUT_FILE_BYTES: "4096" },
  });
  try {
    const stalled = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/stall/slow.png` },
    });
    assertEquals(stalled.body.status, "failed");
    assertMatch(
      stalled.body.error,
      /^Input validation error: image: could not download .*\/stall\/slow\.png: timed out after 0\.3 s$/,
    );

    const big = await s.request("POST", "/predictions", {
      input: { image: `${files.url}/big.png` },
    });
    assertEquals(big.body.status, "failed");
    assertMatch(
      big.body.error,
      /^Input validation error: image: .*big\.png is 5000 bytes, over the 4096 byte limit$/,
    );

    const chunked = startReceiver(() =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(1000));
            controller.close();
          },
        }),
      )
    );
    try {
      const streamed = await s.request("POST", "/predictions", {
        input: { image: `${chunked.url}/chunked.bin` },
      });
      assertEquals(streamed.body.status, "failed");
      assertMatch(streamed.body.error, /chunked\.bin is over the 4096 byte limit$/);
    } finally {
      await chunked.close();
    }

    const bigData = await s.request("POST", "/predictions", {
      input: { image: `data:image/png;base64,${btoa(String.fromCharCode(...PNG))}` },
    });
    assertEquals(bigData.body.status, "failed");
    assertMatch(bigData.body.error, /data URL is larger than the 4096 byte limit/);
  } finally {
    release();
    await s.close();
    await files.close();
  }
});

Deno.test("downloaded temp files are removed when the prediction ends, succeeded or failed", async () => {
  const files = startFileServer();
  const s = await startFixture("file_inputs");
  try {
    for (const fail of [false, true]) {
      const { body } = await s.request("POST", "/predictions", {
        input: {
          image: `${files.url}/a/one.png`,
          doc: `${files.url}/b/two.txt`,
          photos: [`${files.url}/c/three.wav`, "data:text/plain,four"],
          fail,
        },
      });
      assertEquals(body.status, fail ? "failed" : "succeeded", body.error);
      const paths = printedPaths(body.logs);
      assertEquals(paths.length, 4, body.logs);
      for (const path of paths) {
        assert(!path.startsWith(Deno.cwd()), `${path} is a server temp path`);
      }
      await waitFor(
        async () => {
          for (const path of paths) if (await exists(path)) return false;
          return true;
        },
        5000,
        `temp files ${paths.join(", ")} to be removed`,
      );
      // the per-prediction directory (…/pN) goes too
      const predictionDir = paths[0].replace(/\/in\/.*$/, "");
      assert(predictionDir !== paths[0], `unexpected layout ${paths[0]}`);
      assertEquals(await exists(predictionDir), false);
    }
  } finally {
    await s.close();
    await files.close();
  }
});

Deno.test("canceling a prediction while its input is downloading ends it canceled without calling predict()", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const files = startFileServer((request) => {
    if (!request.path.startsWith("/stall/")) return null;
    return new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(new Uint8Array(10));
          await released;
          controller.close();
        },
      }),
    );
  });
  const hooks = startReceiver();
  const s = await startFixture("file_inputs");
  try {
    const created = await s.request("PUT", "/predictions/dl-cancel", {
      input: { image: `${files.url}/stall/slow.png` },
      webhook: `${hooks.url}/hook`,
      webhook_events_filter: ["completed"],
    }, { prefer: "respond-async" });
    assertEquals(created.status, 202);
    await waitFor(() => files.received.length === 1, 5000, "the download to start");
    const cancel = await s.request("POST", "/predictions/dl-cancel/cancel");
    assertEquals(cancel.status, 200);
    await waitFor(() => hooks.received.length === 1, 5000, "the completed webhook");
    const completed = hooks.received[0].json();
    assertEquals(completed.status, "canceled");
    assertEquals(completed.logs, "", "predict() never ran");
    const after = await s.request("POST", "/predictions", {
      input: { image: "data:text/plain,ok" },
    });
    assertEquals(after.body.status, "succeeded", "the slot was released");
  } finally {
    release();
    await s.close();
    await files.close();
    await hooks.close();
  }
});
