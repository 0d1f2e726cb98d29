// File outputs against the real server and a real Python worker: data URLs
// with the right MIME type by default; with --upload-url, one streamed PUT per
// file (top-level, list, iterator and nested), the Location (or final) URL in
// the output, order preserved, and a failed upload failing the prediction.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { type Received, startFixture, startReceiver, waitFor } from "../_helpers.ts";

function decodeDataUrl(url: string): { mime: string; bytes: Uint8Array } {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  assert(match, `not a base64 data URL: ${url.slice(0, 80)}`);
  return { mime: match[1], bytes: Uint8Array.fromBase64(match[2]) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("a returned PNG, WAV or binary Path becomes a data URL with the right MIME type", async () => {
  const s = await startFixture("file_outputs");
  try {
    const png = await s.request("POST", "/predictions", { input: { kind: "png", size: 3 } });
    assertEquals(png.body.status, "succeeded", png.body.error);
    const image = decodeDataUrl(png.body.output);
    assertEquals(image.mime, "image/png");
    assertEquals([...image.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assertEquals(text(image.bytes.subarray(12, 16)), "IHDR");
    assertEquals(new DataView(image.bytes.buffer).getUint32(16), 3, "width");

    const wav = await s.request("POST", "/predictions", { input: { kind: "wav", size: 800 } });
    const sound = decodeDataUrl(wav.body.output);
    assertMatch(sound.mime, /^audio\/(x-)?wav$/);
    assertEquals(text(sound.bytes.subarray(0, 4)), "RIFF");
    assertEquals(text(sound.bytes.subarray(8, 12)), "WAVE");
    assertEquals(sound.bytes.length, 44 + 800 * 2);

    const bin = await s.request("POST", "/predictions", { input: { kind: "bin", size: 1000 } });
    const blob = decodeDataUrl(bin.body.output);
    assertEquals(blob.mime, "application/octet-stream");
    assertEquals(blob.bytes.length, 1000);
    assert(blob.bytes.every((b, i) => b === (i * 7 + 3) % 256), "binary content intact");

    const unknown = await s.request("POST", "/predictions", {
      input: { kind: "bin", size: 4, name: "x.weird" },
    });
    assertEquals(decodeDataUrl(unknown.body.output).mime, "application/octet-stream");
  } finally {
    await s.close();
  }
});

Deno.test("a data URL output of a few MiB comes back intact", async () => {
  const s = await startFixture("file_outputs");
  try {
    const size = 3 * 1024 * 1024 + 17;
    const { body } = await s.request("POST", "/predictions", { input: { kind: "bin", size } });
    assertEquals(body.status, "succeeded", body.error);
    const blob = decodeDataUrl(body.output);
    assertEquals(blob.bytes.length, size);
    assert(blob.bytes.every((b, i) => b === (i * 7 + 3) % 256), "binary content intact");
  } finally {
    await s.close();
  }
});

Deno.test("list[Path] and Iterator[Path] outputs become arrays of data URLs in order", async () => {
  const list = await startFixture("file_outputs_list");
  try {
    const { body } = await list.request("POST", "/predictions", { input: { count: 3 } });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.length, 3);
    body.output.forEach((url: string, i: number) => {
      const file = decodeDataUrl(url);
      assertEquals(file.mime, "text/plain");
      assertEquals(text(file.bytes), `file number ${i}\n`);
    });
    const one = await list.request("POST", "/predictions", { input: { count: 1 } });
    assertEquals(one.body.output.length, 1, "a one-element list is still an array");
    const none = await list.request("POST", "/predictions", { input: { count: 0 } });
    assertEquals(none.body.output, []);
  } finally {
    await list.close();
  }
  const iter = await startFixture("iterator_paths");
  try {
    const { body } = await iter.request("POST", "/predictions", { input: { count: 3 } });
    assertEquals(body.output.map((u: string) => decodeDataUrl(u).bytes.length), [18, 19, 20]);
    assertEquals(body.output.map((u: string) => decodeDataUrl(u).mime), [
      "image/png",
      "image/png",
      "image/png",
    ]);
  } finally {
    await iter.close();
  }
});

Deno.test("with --upload-url each file is PUT to <url>/<basename> and the Location URL, without query, is returned", async () => {
  const uploads = startReceiver((request) =>
    new Response(null, {
      status: 201,
      headers: { location: `https://cdn.example.com/stored${request.path}?signature=secret` },
    })
  );
  const s = await startFixture("file_outputs", { uploadUrl: `${uploads.url}/bucket` });
  try {
    const { body } = await s.request("POST", "/predictions", {
      id: "up-1",
      input: { kind: "png", size: 2 },
    });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output, "https://cdn.example.com/stored/bucket/image.png");
    assertEquals(uploads.received.length, 1);
    const put = uploads.received[0];
    assertEquals(put.method, "PUT");
    assertEquals(put.path, "/bucket/image.png", "a trailing slash is added to the base URL");
    assertEquals(put.headers.get("content-type"), "image/png");
    assertEquals([...put.body.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assertEquals(put.headers.get("content-length"), String(put.body.length));
    assertEquals(put.headers.get("x-prediction-id"), "up-1");
    assertEquals(
      put.headers.get("transfer-encoding"),
      null,
      "sent with a Content-Length, not chunked",
    );

    const wav = await s.request("POST", "/predictions", { input: { kind: "wav", size: 10 } });
    assertEquals(wav.body.output, "https://cdn.example.com/stored/bucket/sound.wav");
    assertMatch(uploads.received[1].headers.get("content-type")!, /^audio\/(x-)?wav$/);
  } finally {
    await s.close();
    await uploads.close();
  }
});

Deno.test("without a Location header the upload's final URL after redirects is returned, query stripped", async () => {
  const uploads = startReceiver((request) => {
    if (request.path.startsWith("/bucket/")) {
      return new Response(null, {
        status: 307,
        headers: { location: `/final${request.path.slice("/bucket".length)}?X-Amz-Signature=abc` },
      });
    }
    return new Response("stored", { status: 200 });
  });
  const s = await startFixture("file_outputs", { uploadUrl: `${uploads.url}/bucket/` });
  try {
    const { body } = await s.request("POST", "/predictions", { input: { kind: "bin", size: 100 } });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output, `${uploads.url}/final/blob.bin`);
    const final = uploads.received.find((r) => r.path.startsWith("/final/"));
    assert(final, "the redirected PUT arrived");
    assertEquals(final.method, "PUT");
    assertEquals(final.body.length, 100, "the body was sent again after the redirect");
  } finally {
    await s.close();
    await uploads.close();
  }
});

Deno.test("list and iterator outputs upload one PUT per file and keep the yield order even when uploads finish out of order", async () => {
  const uploads = startReceiver(async (request) => {
    // The first file is the slowest to store.
    if (request.path.endsWith("0.png") || request.path.endsWith("f0.txt")) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return new Response(null, {
      status: 200,
      headers: { location: `http://files.test${request.path}` },
    });
  });
  const iter = await startFixture("iterator_paths", { uploadUrl: uploads.url });
  try {
    const { body } = await iter.request("POST", "/predictions", { input: { count: 3 } });
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output, [
      "http://files.test/frame0.png",
      "http://files.test/frame1.png",
      "http://files.test/frame2.png",
    ]);
    assertEquals(uploads.received.map((r) => r.path), [
      "/frame0.png",
      "/frame1.png",
      "/frame2.png",
    ]);
    assertEquals(uploads.received.map((r) => r.body.length), [18, 19, 20]);
  } finally {
    await iter.close();
  }
  uploads.received.length = 0;
  const list = await startFixture("file_outputs_list", { uploadUrl: `${uploads.url}/out/` });
  try {
    const { body } = await list.request("POST", "/predictions", { input: { count: 3 } });
    assertEquals(body.output, ["f0", "f1", "f2"].map((n) => `http://files.test/out/${n}.txt`));
    assertEquals(
      uploads.received.map((r) => text(r.body)),
      [0, 1, 2].map((i) => `file number ${i}\n`),
    );
  } finally {
    await list.close();
    await uploads.close();
  }
});

Deno.test("Paths nested inside an object output become data URLs, and are uploaded too with --upload-url", async () => {
  const plain = await startFixture("nested_paths");
  try {
    const { body } = await plain.request("POST", "/predictions", {});
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.caption, "a caption");
    assertEquals(decodeDataUrl(body.output.image).mime, "image/png");
    assertEquals(text(decodeDataUrl(body.output.extras[0]).bytes), "extra a");
    assertEquals(decodeDataUrl(body.output.extras[1]).mime, "application/json");
  } finally {
    await plain.close();
  }
  const uploads = startReceiver((request) =>
    new Response(null, { headers: { location: `http://u.test${request.path}` } })
  );
  const s = await startFixture("nested_paths", { uploadUrl: uploads.url });
  try {
    const { body } = await s.request("POST", "/predictions", {});
    assertEquals(body.output, {
      caption: "a caption",
      image: "http://u.test/main.png",
      extras: ["http://u.test/a.txt", "http://u.test/b.json"],
    });
    const byPath = Object.fromEntries(uploads.received.map((r: Received) => [r.path, r]));
    assertEquals(text(byPath["/a.txt"].body), "extra a");
    assertEquals(byPath["/b.json"].headers.get("content-type"), "application/json");
    assertEquals(uploads.received.length, 3);
  } finally {
    await s.close();
    await uploads.close();
  }
});

Deno.test("a failed upload fails the prediction with a clear error instead of dropping the output", async () => {
  const uploads = startReceiver((request) =>
    request.path.includes("frame1")
      ? new Response("denied", { status: 403 })
      : new Response(null, { headers: { location: `http://u.test${request.path}` } })
  );
  const s = await startFixture("iterator_paths", { uploadUrl: uploads.url });
  try {
    const { status, body } = await s.request("POST", "/predictions", { input: { count: 3 } });
    assertEquals(status, 200);
    assertEquals(body.status, "failed");
    assertMatch(
      body.error,
      /^upload of frame1\.png to http:\/\/127\.0\.0\.1:\d+\/frame1\.png failed: HTTP 403$/,
    );
    assertEquals(
      body.output,
      ["http://u.test/frame0.png"],
      "chunks before the failure stay visible",
    );
    assertEquals(
      uploads.received.filter((r) => r.path === "/frame1.png").length,
      1,
      "a 4xx is not retried",
    );
    // The worker is told to stop; its slot frees once it confirms.
    await waitFor(async () => (await s.request("GET", "/health-check")).body.status === "READY");
    const after = await s.request("POST", "/predictions", { input: { count: 1 } });
    assertEquals(after.body.status, "succeeded", "the server keeps serving");
  } finally {
    await s.close();
    await uploads.close();
  }
});

Deno.test("an upload receiver answering 5xx is retried, then fails the prediction; an unreachable one fails it too", async () => {
  const uploads = startReceiver(() => new Response("down", { status: 502 }));
  const s = await startFixture("file_outputs", { uploadUrl: uploads.url });
  try {
    const { body } = await s.request("POST", "/predictions", { input: { kind: "png" } });
    assertEquals(body.status, "failed");
    assertMatch(body.error, /^upload of image\.png to .* failed: HTTP 502$/);
    assertEquals(uploads.received.length, 3);
    assertEquals(body.output, null);
  } finally {
    await s.close();
    await uploads.close();
  }
  const gone = startReceiver();
  await gone.close();
  const t = await startFixture("file_outputs", { uploadUrl: gone.url });
  try {
    const { body } = await t.request("POST", "/predictions", { input: { kind: "png" } });
    assertEquals(body.status, "failed");
    assertMatch(body.error, /^upload of image\.png to .* failed: .*refused/i);
  } finally {
    await t.close();
  }
});

Deno.test("an output Path that does not exist fails the prediction with a message naming it", async () => {
  const s = await startFixture("file_outputs");
  try {
    const { body } = await s.request("POST", "/predictions", { input: { kind: "missing" } });
    assertEquals(body.status, "failed");
    assertMatch(body.error, /missing\.png/);
  } finally {
    await s.close();
  }
});

Deno.test("async predictions send uploaded file URLs in output webhooks as each file is produced", async () => {
  const uploads = startReceiver((request) =>
    new Response(null, { headers: { location: `http://u.test${request.path}` } })
  );
  const hooks = startReceiver();
  const s = await startFixture("iterator_paths", {
    uploadUrl: uploads.url,
    settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" },
  });
  try {
    const created = await s.request("POST", "/predictions", {
      input: { count: 3 },
      webhook: `${hooks.url}/hook`,
      webhook_events_filter: ["output", "completed"],
    }, { prefer: "respond-async" });
    assertEquals(created.status, 202);
    await waitFor(
      () => hooks.received.some((r) => r.json().status === "succeeded"),
      10_000,
      "completion",
    );
    const outputs = hooks.received.map((r) => r.json().output);
    const final = outputs.at(-1);
    assertEquals(final, ["frame0", "frame1", "frame2"].map((n) => `http://u.test/${n}.png`));
    for (const output of outputs) {
      assert(
        Array.isArray(output) && output.every((u: string) => u.startsWith("http://u.test/")),
        "only URLs",
      );
    }
    assertEquals(
      outputs[0],
      ["http://u.test/frame0.png"],
      "the first output webhook carries the first file alone",
    );
  } finally {
    await s.close();
    await uploads.close();
    await hooks.close();
  }
});
