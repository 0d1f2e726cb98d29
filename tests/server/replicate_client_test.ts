// Replicate's HTTP API under /v1, driven by the official `replicate` npm client
// (deno.json: npm:replicate) against the real server and a real Python worker:
// run by model and by version, create + wait, Prefer: wait=N, cancel, stream,
// a Blob input through files.create (resolved without a network round trip),
// pagination, authorization, and the wire details the Python client relies on.

// deno-lint-ignore-file no-explicit-any -- client results are untyped JSON
import Replicate from "replicate";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { startFixture, waitFor } from "../_helpers.ts";
import { authorized, preferWait } from "../../src/server/http/routes/replicate.ts";

const encoder = new TextEncoder();

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function client(url: string, auth = "any-token"): Replicate {
  return new Replicate({ baseUrl: `${url}/v1`, auth, useFileOutput: false });
}

/** `replicate.run` typed loosely (its declared result is `object`). */
function run(replicate: Replicate, ref: string, options: any): Promise<any> {
  return replicate.run(ref as `${string}/${string}`, options) as Promise<any>;
}

Deno.test("replicate.run works with an owner/name reference and with an owner/name:version reference", async () => {
  const s = await startFixture("echo");
  try {
    const replicate = client(s.url);
    assertEquals(await run(replicate, "acme/echo", { input: { text: "model" } }), "hello model");
    assertEquals(
      await run(replicate, "acme/echo:0123abcd", { input: { text: "version" } }),
      "hello version",
    );
    const listed = await replicate.predictions.list();
    const [byVersion, byModel] = listed.results as any[];
    // The client sends only the version of an owner/name:version reference.
    assertEquals([byVersion.model, byVersion.version], ["local/model", "0123abcd"]);
    assertEquals(byModel.model, "acme/echo");
    assertMatch(byModel.version, /^[0-9a-f]{64}$/, "the local version id");
    assertEquals(byModel.status, "succeeded");
    assertEquals(byModel.input, { text: "model" });
    assertEquals(byModel.urls.get, `${s.url}/v1/predictions/${byModel.id}`);
    assertEquals(byModel.urls.cancel, `${s.url}/v1/predictions/${byModel.id}/cancel`);
    assertEquals(byModel.urls.stream, undefined, "no stream URL for a non-streaming model");
    assertEquals(typeof byModel.metrics.predict_time, "number");
    assertEquals(typeof byModel.metrics.total_time, "number");
    // Cog's own endpoint sees the same prediction in Cog's shape.
    const cog = await s.request("GET", `/predictions/${byModel.id}`);
    assertEquals([cog.status, cog.body.output, cog.body.version], [200, "hello model", null]);
  } finally {
    await s.close();
  }
});

Deno.test("predictions.create answers at once and wait polls until the prediction ends; deployments work too", async () => {
  const s = await startFixture("slow");
  try {
    const replicate = client(s.url);
    const created: any = await replicate.predictions.create({
      version: "v1",
      input: { seconds: 0.3 },
    });
    assert(created.status === "starting" || created.status === "processing", created.status);
    assertEquals(created.output, null);
    const done: any = await replicate.wait(created, { interval: 50 });
    assertEquals([done.status, done.output], ["succeeded", "woke up"]);
    assertEquals(done.logs, "sleeping 0.3\n");
    const polled = await run(replicate, "acme/slow", {
      input: { seconds: 0.2 },
      wait: { mode: "poll", interval: 50 },
    });
    assertEquals(polled, "woke up");
    const deployed: any = await replicate.deployments.predictions.create("acme", "prod", {
      input: { seconds: 0.1 },
      wait: 5,
    });
    assertEquals([deployed.status, deployed.model], ["succeeded", "acme/prod"]);
  } finally {
    await s.close();
  }
});

Deno.test("Prefer: wait=N answers with the running prediction after N seconds, and cancel stops it", async () => {
  const s = await startFixture("slow");
  try {
    const replicate = client(s.url);
    const started = Date.now();
    const waited: any = await replicate.predictions.create({
      version: "v1",
      input: { seconds: 60 },
      wait: 1,
    });
    assertEquals(waited.status, "processing");
    assert(Date.now() - started < 20_000, "answered long before the prediction could end");
    const canceled: any = await replicate.predictions.cancel(waited.id);
    assertEquals(canceled.id, waited.id);
    await waitFor(async () => (await replicate.predictions.get(waited.id)).status === "canceled");
    // A second cancel of the ended prediction changes nothing.
    const again: any = await replicate.predictions.cancel(waited.id);
    assertEquals(again.status, "canceled");
    await assertRejects(() => replicate.predictions.get("no-such-id"), /status 404/);
    await assertRejects(() => replicate.predictions.cancel("no-such-id"), /status 404/);
  } finally {
    await s.close();
  }
});

Deno.test("replicate.stream yields the output, logs and done events of a streaming predictor", async () => {
  const s = await startFixture("sse_tokens");
  try {
    const replicate = client(s.url);
    const events: { event: string; data: string }[] = [];
    for await (const event of replicate.stream("acme/tokens", { input: { count: 3 } })) {
      events.push({ event: event.event, data: event.data });
    }
    assertEquals(events.filter((e) => e.event === "output").map((e) => e.data), [
      "tok0",
      "tok1",
      "tok2",
    ]);
    assertEquals(events.filter((e) => e.event === "logs").map((e) => e.data), [
      "token 0",
      "token 1",
      "token 2",
    ]);
    assertEquals(events.at(-1), { event: "done", data: "{}" });
  } finally {
    await s.close();
  }
});

Deno.test("a stream opened late replays what happened, then follows live; a canceled one ends with done {reason: canceled}", async () => {
  const s = await startFixture("sse_tokens");
  const dir = await Deno.makeTempDir();
  try {
    const replicate = client(s.url);
    const gate = `${dir}/gate`;
    const prediction: any = await replicate.predictions.create({
      version: "v1",
      input: { count: 3, gate },
    });
    assertEquals(prediction.urls.stream, `${s.url}/v1/predictions/${prediction.id}/stream`);
    await waitFor(() => s.server.service.get(prediction.id)?.outputCount === 1);
    const response = await fetch(prediction.urls.stream, {
      headers: { accept: "text/event-stream" },
    });
    assertEquals(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("data: tok0")) text += (await reader.read()).value ?? "";
    await Deno.writeTextFile(gate, "");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const frames = text.split("\n\n").filter((f) => f.startsWith("event:"));
    assertEquals(frames.map((f) => /^event: (\w+)/.exec(f)![1]), [
      "logs",
      "output",
      "logs",
      "output",
      "logs",
      "output",
      "done",
    ]);
    // Every event has an id (the Python client drops events without one).
    for (const frame of frames) assertMatch(frame, /\nid: \d+\n/);

    const gate2 = `${dir}/gate2`;
    const second: any = await replicate.predictions.create({
      version: "v1",
      input: { count: 3, gate: gate2 },
    });
    await waitFor(() => s.server.service.get(second.id)?.outputCount === 1);
    await replicate.predictions.cancel(second.id);
    const after = await fetch(second.urls.stream);
    const body = await after.text();
    assertMatch(body, /event: done\nid: \d+\ndata: {"reason":"canceled"}\n\n$/);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replicate.stream refuses a model that does not stream", async () => {
  const s = await startFixture("echo");
  try {
    await assertRejects(async () => {
      for await (const _ of client(s.url).stream("acme/echo", { input: { text: "x" } })) {
        // nothing
      }
    }, /does not support streaming/);
  } finally {
    await s.close();
  }
});

Deno.test("a Blob input goes through files.create and reaches the model from disk, with no network round trip", async () => {
  // With a token set, a network fetch of the file URL (no Authorization) would get 401.
  const s = await startFixture("file_inputs", { settings: { COG_API_TOKEN: "s3cret" } });
  try {
    const replicate = client(s.url, "s3cret");
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251);
    const output = await run(replicate, "acme/files", {
      input: { image: new Blob([bytes], { type: "image/png" }) },
    });
    assertEquals(output.image.size, bytes.length);
    assertEquals(output.image.sha256, await sha256(bytes));
    assertMatch(output.image.name, /\.png$/);

    const file: any = await replicate.files.create(new Blob([encoder.encode("hi there")]), {
      purpose: "test",
    });
    assertMatch(file.id, /^[a-z2-7]{26}$/);
    assertEquals([file.size, file.metadata], [8, { purpose: "test" }]);
    assertEquals(file.checksums.sha256, await sha256(encoder.encode("hi there")));
    assertEquals(file.urls.get, `${s.url}/v1/files/${file.id}`);
    assertEquals((await replicate.files.get(file.id) as any).id, file.id);
    const download = await fetch(`${file.urls.get}/download`, {
      headers: { authorization: "Bearer s3cret" },
    });
    assertEquals(await download.text(), "hi there");
    assertEquals((await replicate.files.list() as any).results.length, 2);
    assert(await replicate.files.delete(file.id));
    await assertRejects(() => replicate.files.get(file.id), /status 404/);
  } finally {
    await s.close();
  }
});

Deno.test("only files the files API created resolve locally: other /v1/files URLs go over the network", async () => {
  const s = await startFixture("file_inputs");
  try {
    for (const path of ["/v1/files/aaaaaaaaaaaaaaaaaaaaaaaaaa", "/v1/files/../../etc/passwd"]) {
      const r = await s.request("POST", "/predictions", { input: { image: `${s.url}${path}` } });
      assertEquals(r.body.status, "failed", path);
      assertMatch(r.body.error, /HTTP 404/);
    }
  } finally {
    await s.close();
  }
});

Deno.test("with COG_API_TOKEN set /v1 needs it (Bearer or Token) and Cog's own endpoints do not", async () => {
  const s = await startFixture("echo", { settings: { COG_API_TOKEN: "right" } });
  try {
    const error = await client(s.url, "wrong").run("a/b", { input: { text: "x" } }).then(
      () => null,
      (e) => e,
    );
    assertEquals(error?.response?.status, 401);
    assertEquals(await run(client(s.url, "right"), "a/b", { input: { text: "x" } }), "hello x");
    const python = await fetch(`${s.url}/v1/models/a/b`, {
      headers: { authorization: "Token right" },
    });
    assertEquals(python.status, 200);
    await python.body?.cancel();
    assertEquals((await s.request("GET", "/v1/predictions")).status, 401);
    assertEquals((await s.request("POST", "/predictions", { input: { text: "y" } })).status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("GET /v1/predictions pages newest first and replicate.paginate follows next", async () => {
  const s = await startFixture("echo");
  try {
    const replicate = client(s.url);
    for (const text of ["a", "b", "c"]) await run(replicate, "x/y", { input: { text } });
    const pages: any[][] = [];
    const first = () =>
      replicate.request("/predictions", { method: "GET", params: { limit: 2 } }).then((r) =>
        r.json()
      );
    for await (const page of replicate.paginate(first)) pages.push(page);
    assertEquals(pages.map((p) => p.map((x: any) => x.input.text)), [["c", "b"], ["a"]]);
  } finally {
    await s.close();
  }
});

Deno.test("the model and version endpoints the Python client reads answer with the model's schema", async () => {
  const s = await startFixture("echo");
  try {
    const replicate = client(s.url);
    const model: any = await replicate.models.get("acme", "echo");
    assertEquals([model.owner, model.name], ["acme", "echo"]);
    assertMatch(model.latest_version.id, /^[0-9a-f]{64}$/);
    const version: any = await replicate.models.versions.get("acme", "echo", "abc");
    assertEquals(version.id, "abc");
    assertEquals(version.openapi_schema.components.schemas.Output.type, "string");
    assertEquals(typeof version.cog_version, "string");
  } finally {
    await s.close();
  }
});

Deno.test("bad /v1 requests get Replicate-style errors", async () => {
  const s = await startFixture("echo");
  try {
    const invalid = await s.request("POST", "/v1/predictions", { version: "v", input: {} });
    assertEquals(invalid.status, 422);
    assertEquals(invalid.body.title, "Input validation failed");
    assertMatch(invalid.body.detail, /text/);
    const malformed = await s.request("POST", "/v1/predictions", "{nope");
    assertEquals(malformed.status, 400);
    const noFile = await fetch(`${s.url}/v1/files`, { method: "POST", body: new FormData() });
    assertEquals(noFile.status, 422);
    await noFile.body?.cancel();
    const notMultipart = await s.request("POST", "/v1/files", { a: 1 });
    assertEquals(notMultipart.status, 415);
  } finally {
    await s.close();
  }
});

Deno.test("POST /v1/files takes a multipart body whose Content-Type lacks the boundary (as some clients send it)", async () => {
  const s = await startFixture("echo");
  try {
    const body = [
      "--b0undary\r\n",
      'Content-Disposition: form-data; name="content"; filename="note.txt"\r\n',
      "Content-Type: text/plain\r\n\r\n",
      "plain text\r\n",
      "--b0undary\r\n",
      'Content-Disposition: form-data; name="metadata"\r\n\r\n',
      '{"a":[1]}\r\n',
      "--b0undary--\r\n",
    ].join("");
    const r = await fetch(`${s.url}/v1/files`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data" },
      body,
    });
    assertEquals(r.status, 201);
    const file = await r.json();
    assertEquals([file.name, file.content_type, file.size], ["note.txt", "text/plain", 10]);
    assertEquals(file.metadata, { a: [1] });
    assertEquals(await (await fetch(file.urls.download)).text(), "plain text");
    const truncated = await fetch(`${s.url}/v1/files`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data" },
      body: body.slice(0, 120),
    });
    assertEquals(truncated.status, 400);
    assertMatch((await truncated.json()).detail, /ends early/);
    assertEquals((await s.request("GET", "/v1/files")).body.results.length, 1, "nothing kept");
  } finally {
    await s.close();
  }
});

Deno.test("Prefer: wait is read as Replicate reads it, and tokens are compared whole", () => {
  assertEquals(preferWait(null), null);
  assertEquals(preferWait("respond-async"), null);
  assertEquals(preferWait("wait"), 60);
  assertEquals(preferWait("wait=5"), 5);
  assertEquals(preferWait("respond-async, wait=3"), 3);
  assertEquals(preferWait("wait=0"), 1);
  assertEquals(preferWait("wait=3600"), 60);
  assertEquals(preferWait("waiting"), null);
  assert(authorized(null, undefined));
  assert(authorized("Bearer whatever", undefined));
  assert(authorized("Bearer t0k", "t0k"));
  assert(authorized("Token t0k", "t0k"));
  assert(!authorized("Bearer t0", "t0k"));
  assert(!authorized("Bearer t0kk", "t0k"));
  assert(!authorized("t0k", "t0k"));
  assert(!authorized(null, "t0k"));
});
