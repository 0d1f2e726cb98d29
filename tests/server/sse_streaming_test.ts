// Server-Sent Events against the real server and a real Python worker, read by
// a real incremental client: event order, 406 for non-streaming models,
// keep-alives, replay history and its truncation, PUT re-attach, cancel when
// the last subscriber leaves, async generators, file chunks, and iterator
// chunks reaching SSE and webhooks while the prediction still runs. Progress
// is driven by gate files, so assertions are on order, never on wall time.

import { assert, assertEquals } from "../_assert.ts";
import {
  startFixture,
  startReceiver,
  type TestServer,
  waitFor,
  writeProject,
} from "../_helpers.ts";

interface SseEvent {
  event: string;
  // deno-lint-ignore no-explicit-any -- arbitrary JSON from the server
  data: any;
}

/** An SSE response read incrementally. */
class SseClient {
  readonly response: Response;
  readonly events: SseEvent[] = [];
  raw = "";
  closed = false;
  #reader: ReadableStreamDefaultReader<string>;
  #pending = "";

  constructor(response: Response) {
    this.response = response;
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Reads until `predicate` holds for the events so far (or the stream ends). */
  async until(predicate: (events: SseEvent[]) => boolean, what = "events"): Promise<SseEvent[]> {
    while (!predicate(this.events)) {
      if (this.closed) {
        throw new Error(`stream closed before ${what}: ${JSON.stringify(this.events)}`);
      }
      await this.#readOnce();
    }
    return this.events;
  }

  /** Reads to the end of the stream. */
  async all(): Promise<SseEvent[]> {
    while (!this.closed) await this.#readOnce();
    return this.events;
  }

  async #readOnce(): Promise<void> {
    const { value, done } = await this.#reader.read();
    if (done) {
      this.closed = true;
      return;
    }
    this.raw += value;
    this.#pending += value;
    let end;
    while ((end = this.#pending.indexOf("\n\n")) !== -1) {
      const block = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join("\n")) });
    }
  }

  /** Leaves: the client goes away mid-stream. */
  async leave(): Promise<void> {
    await this.#reader.cancel();
    this.closed = true;
  }
}

async function openSse(
  s: TestServer,
  method: "POST" | "PUT",
  path: string,
  body: unknown,
): Promise<SseClient> {
  const response = await fetch(`${s.url}${path}`, {
    method,
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  assertEquals(response.status, 200, `SSE ${method} ${path} answered ${response.status}`);
  return new SseClient(response);
}

const names = (events: SseEvent[]) => events.map((e) => e.event);
const outputs = (events: SseEvent[]) =>
  events.filter((e) => e.event === "output").map((e) => e.data);
const hasOutput = (n: number) => (events: SseEvent[]) => outputs(events).length >= n;

/** A fresh gate path (the predictor waits after its first token until it exists). */
async function gatePath(): Promise<
  { gate: string; open: () => Promise<void>; cleanup: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "cog-sse-gate-" });
  return {
    gate: `${dir}/gate`,
    open: () => Deno.writeTextFile(`${dir}/gate`, "go"),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("POST with Accept: text/event-stream streams start, metric, log, output and completed in order", async () => {
  const s = await startFixture("sse_tokens");
  try {
    const sse = await openSse(s, "POST", "/predictions", { id: "sse-1", input: { count: 3 } });
    assertEquals(sse.response.headers.get("content-type"), "text/event-stream");
    assertEquals(sse.response.headers.get("cache-control"), "no-cache");
    const events = await sse.all();
    assertEquals(events[0], { event: "start", data: { id: "sse-1", status: "processing" } });
    assertEquals(events[1], {
      event: "metric",
      data: { name: "temperature", value: 0.7, mode: "replace" },
    });
    assertEquals(events.at(-1)!.event, "completed");
    assertEquals(outputs(events), [0, 1, 2].map((i) => ({ chunk: `tok${i}`, index: i })));
    const logs = events.filter((e) => e.event === "log").map((e) => e.data);
    assertEquals(logs.map((l) => l.data).join(""), "token 0\ntoken 1\ntoken 2\n");
    assert(logs.every((l) => l.source === "stdout"));
    const increments = events.filter((e) => e.event === "metric" && e.data.name === "token_count");
    assertEquals(
      increments.map((e) => e.data),
      Array(3).fill({ name: "token_count", value: 1, mode: "increment" }),
    );
    // Each token's increment comes before that token's output.
    const order = names(events).filter((n) => n === "output" || n === "metric").slice(1);
    assertEquals(order, ["metric", "output", "metric", "output", "metric", "output"]);
    const completed = events.at(-1)!.data;
    assertEquals(completed.id, "sse-1");
    assertEquals(completed.status, "succeeded");
    assertEquals(completed.output, ["tok0", "tok1", "tok2"]);
    assertEquals(completed.logs, "token 0\ntoken 1\ntoken 2\n");
    assertEquals(completed.metrics.temperature, 0.7);
    assertEquals(completed.metrics.token_count, 3);
    assertEquals(typeof completed.metrics.predict_time, "number");
    assertEquals(completed.error, null);
  } finally {
    await s.close();
  }
});

Deno.test("SSE requests to a model without @streaming get 406 with Cog's message, POST and PUT alike", async () => {
  const s = await startFixture("generator");
  try {
    const message = {
      error:
        "This model does not support streaming responses. Add @cog.streaming to predict() to enable SSE.",
    };
    const post = await s.request("POST", "/predictions", { input: {} }, {
      accept: "text/event-stream",
    });
    assertEquals(post.status, 406);
    assertEquals(post.body, message);
    const put = await s.request("PUT", "/predictions/x1", { input: {} }, {
      accept: "application/json, text/event-stream",
    });
    assertEquals(put.status, 406);
    assertEquals(put.body, message);
    const plain = await s.request("POST", "/predictions", { input: {} });
    assertEquals(
      plain.body.output,
      ["token0", "token1", "token2"],
      "iterator outputs still work as JSON",
    );
  } finally {
    await s.close();
  }
});

Deno.test("output chunks reach the SSE client while the prediction is still running, with keep-alive comments between", async () => {
  const g = await gatePath();
  const s = await startFixture("sse_tokens", { settings: { COG_SSE_KEEPALIVE: "0.05" } });
  try {
    const sse = await openSse(s, "POST", "/predictions", {
      id: "live-1",
      input: { count: 3, gate: g.gate },
    });
    await sse.until(hasOutput(1), "the first output");
    assertEquals(outputs(sse.events), [{ chunk: "tok0", index: 0 }]);
    assert(!names(sse.events).includes("completed"));
    assertEquals(
      s.server.service.get("live-1")?.status,
      "processing",
      "still running behind the gate",
    );
    await sse.until(() => sse.raw.includes(": keep-alive\n\n"), "a keep-alive comment");
    await g.open();
    const events = await sse.all();
    assertEquals(outputs(events).map((o) => o.chunk), ["tok0", "tok1", "tok2"]);
    assertEquals(events.at(-1)!.data.status, "succeeded");
    assert(events.every((e) => e.event !== "message"), "keep-alives are comments, not events");
  } finally {
    await s.close();
    await g.cleanup();
  }
});

Deno.test("PUT with Accept: text/event-stream re-attaches to an in-flight prediction: history first, then live events", async () => {
  const g = await gatePath();
  const s = await startFixture("sse_tokens");
  try {
    const created = await s.request("PUT", "/predictions/attach-1", {
      input: { count: 3, gate: g.gate },
    }, {
      prefer: "respond-async",
    });
    assertEquals(created.status, 202);
    await waitFor(
      async () => {
        const live = await s.request("PUT", "/predictions/attach-1", {
          input: { count: 3, gate: g.gate },
        });
        return live.status === 202 && live.body.output?.length === 1 &&
          live.body.logs === "token 0\n";
      },
      10_000,
      "the first token",
    );
    const late = await openSse(s, "PUT", "/predictions/attach-1", {
      input: { count: 3, gate: g.gate },
    });
    await late.until(hasOutput(1), "the replayed first output");
    assertEquals(late.events[0].event, "start");
    assertEquals(
      names(late.events).sort(),
      ["log", "metric", "metric", "output", "start"],
      "the whole history so far",
    );
    // A second subscriber that leaves does not cancel an async-created prediction.
    const leaver = await openSse(s, "PUT", "/predictions/attach-1", {});
    await leaver.until(hasOutput(1));
    await leaver.leave();
    await g.open();
    const events = await late.all();
    assertEquals(outputs(events).map((o) => o.index), [0, 1, 2]);
    assertEquals(events.at(-1)!.event, "completed");
    assertEquals(events.at(-1)!.data.status, "succeeded");
    assertEquals(events.at(-1)!.data.output, ["tok0", "tok1", "tok2"]);
  } finally {
    await s.close();
    await g.cleanup();
  }
});

Deno.test("a late subscriber gets Cog's truncation error when the history dropped events (COG_STREAM_HISTORY_CAPACITY=2)", async () => {
  const g = await gatePath();
  const s = await startFixture("sse_tokens", { settings: { COG_STREAM_HISTORY_CAPACITY: "2" } });
  try {
    await s.request("PUT", "/predictions/trunc-1", { input: { count: 3, gate: g.gate } }, {
      prefer: "respond-async",
    });
    await waitFor(
      async () => {
        const live = await s.request("PUT", "/predictions/trunc-1", {});
        return live.body.output?.length === 1 && live.body.logs === "token 0\n";
      },
      10_000,
      "the first token",
    );
    // start, metric, log, metric, output = 5 events; 2 kept, 3 dropped.
    const late = await openSse(s, "PUT", "/predictions/trunc-1", {});
    const events = await late.all();
    assertEquals(events, [{
      event: "error",
      data: { error: "SSE stream replay truncated; events were dropped", skipped: 3 },
    }]);
    await g.open();
  } finally {
    await s.close();
    await g.cleanup();
  }
});

Deno.test("with COG_STREAM_HISTORY_CAPACITY=0 a late subscriber gets only live events and no error", async () => {
  const g = await gatePath();
  const s = await startFixture("sse_tokens", { settings: { COG_STREAM_HISTORY_CAPACITY: "0" } });
  try {
    await s.request("PUT", "/predictions/zero-1", { input: { count: 3, gate: g.gate } }, {
      prefer: "respond-async",
    });
    await waitFor(async () =>
      (await s.request("PUT", "/predictions/zero-1", {})).body.output?.length === 1
    );
    const late = await openSse(s, "PUT", "/predictions/zero-1", {});
    await g.open();
    const events = await late.all();
    assert(!names(events).includes("start"), "no replay");
    assert(!names(events).includes("error"));
    assertEquals(outputs(events).map((o) => o.index), [1, 2]);
    assertEquals(events.at(-1)!.data.output, ["tok0", "tok1", "tok2"]);
  } finally {
    await s.close();
    await g.cleanup();
  }
});

Deno.test("an SSE-created prediction is canceled when its last subscriber leaves before it ends", async () => {
  const g = await gatePath();
  const hooks = startReceiver();
  const s = await startFixture("sse_tokens");
  try {
    const sse = await openSse(s, "POST", "/predictions", {
      id: "leave-1",
      input: { count: 3, gate: g.gate },
      webhook: `${hooks.url}/hook`,
      webhook_events_filter: ["completed"],
    });
    await sse.until(hasOutput(1));
    await sse.leave();
    await waitFor(() => hooks.received.length === 1, 10_000, "the completed webhook");
    const completed = hooks.received[0].json();
    assertEquals(completed.status, "canceled");
    assertEquals(completed.output, ["tok0"]);
    assertEquals(
      await Deno.readTextFile(`${g.gate}.canceled`),
      "canceled",
      "predict() saw the cancelation",
    );
    const next = await s.request("POST", "/predictions", { input: { count: 1 } });
    assertEquals(next.body.status, "succeeded", "the slot is free again");
  } finally {
    await s.close();
    await hooks.close();
    await g.cleanup();
  }
});

Deno.test("an async generator and a ConcatenateIterator stream over SSE and end with Cog's array output", async () => {
  const a = await startFixture("async_generator");
  try {
    const events = await (await openSse(a, "POST", "/predictions", { input: { count: 3 } })).all();
    assertEquals(outputs(events), [0, 1, 2].map((i) => ({ chunk: `word${i}`, index: i })));
    assertEquals(events.at(-1)!.data.output, ["word0", "word1", "word2"]);
    assertEquals(events.at(-1)!.data.logs, "async 0\nasync 1\nasync 2\n");
    const one = await (await openSse(a, "POST", "/predictions", { input: { count: 1 } })).all();
    assertEquals(one.at(-1)!.data.output, ["word0"], "one chunk is still an array");
    const none = await (await openSse(a, "POST", "/predictions", { input: { count: 0 } })).all();
    assertEquals(names(none), ["start", "completed"]);
    assertEquals(none.at(-1)!.data.output, []);
    const json = await a.request("POST", "/predictions", { input: { count: 2 } });
    assertEquals(json.body.output, ["word0", "word1"]);
  } finally {
    await a.close();
  }
  const c = await startFixture("streaming");
  try {
    const events = await (await openSse(c, "POST", "/predictions", { input: { text: "a b c" } }))
      .all();
    assertEquals(outputs(events).map((o) => o.chunk), ["a ", "b ", "c "]);
    assertEquals(events.at(-1)!.data.output, ["a ", "b ", "c "]);
  } finally {
    await c.close();
  }
});

Deno.test("a streaming predictor that raises ends the stream with a failed completed event keeping earlier chunks", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": [
      "from typing import Iterator",
      "from cog import BasePredictor, streaming",
      "class Predictor(BasePredictor):",
      "    @streaming",
      "    def predict(self) -> Iterator[str]:",
      "        yield 'first'",
      "        raise ValueError('broken stream')",
    ].join("\n"),
  });
  const s = await startFixture("", { dir });
  try {
    const events = await (await openSse(s, "POST", "/predictions", {})).all();
    assertEquals(outputs(events), [{ chunk: "first", index: 0 }]);
    const completed = events.at(-1)!;
    assertEquals(completed.event, "completed");
    assertEquals(completed.data.status, "failed");
    assertEquals(completed.data.error, "ValueError: broken stream");
    assertEquals(completed.data.output, ["first"]);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("yielded files stream over SSE as uploaded URLs, in order, with --upload-url", async () => {
  const dir = await writeProject({
    "cog.yaml": 'run: "predict.py:Predictor"\n',
    "predict.py": [
      "import os, tempfile",
      "from typing import Iterator",
      "from cog import BasePredictor, Path, streaming",
      "class Predictor(BasePredictor):",
      "    @streaming",
      "    def predict(self, count: int = 3) -> Iterator[Path]:",
      "        out = tempfile.mkdtemp()",
      "        for i in range(count):",
      "            p = os.path.join(out, 'clip{}.wav'.format(i))",
      "            open(p, 'wb').write(b'RIFF' + bytes([i]) * 8)",
      "            yield Path(p)",
    ].join("\n"),
  });
  const uploads = startReceiver((r) =>
    new Response(null, { headers: { location: `http://cdn.test${r.path}?sig=1` } })
  );
  const s = await startFixture("", { dir, uploadUrl: `${uploads.url}/media` });
  try {
    const events = await (await openSse(s, "POST", "/predictions", { input: { count: 3 } })).all();
    const urls = [0, 1, 2].map((i) => `http://cdn.test/media/clip${i}.wav`);
    assertEquals(outputs(events), urls.map((chunk, index) => ({ chunk, index })));
    assertEquals(events.at(-1)!.data.output, urls);
    assertEquals(uploads.received.map((r) => r.body.length), [12, 12, 12]);
  } finally {
    await s.close();
    await uploads.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("iterator chunks reach output webhooks while the prediction is still running", async () => {
  const g = await gatePath();
  const hooks = startReceiver();
  const s = await startFixture("sse_tokens", { settings: { COG_THROTTLE_RESPONSE_INTERVAL: "0" } });
  try {
    const created = await s.request("POST", "/predictions", {
      id: "hook-1",
      input: { count: 3, gate: g.gate },
      webhook: `${hooks.url}/hook`,
      webhook_events_filter: ["output", "completed"],
    }, { prefer: "respond-async" });
    assertEquals(created.status, 202);
    await waitFor(
      () => hooks.received.some((r) => r.json().output?.length === 1),
      10_000,
      "an output webhook",
    );
    const partial = hooks.received.find((r) => r.json().output?.length === 1)!.json();
    assertEquals(partial.status, "processing");
    assertEquals(partial.output, ["tok0"]);
    assert(
      !hooks.received.some((r) => r.json().status === "succeeded"),
      "not finished behind the gate",
    );
    await g.open();
    await waitFor(
      () => hooks.received.some((r) => r.json().status === "succeeded"),
      10_000,
      "completion",
    );
    const final = hooks.received.find((r) => r.json().status === "succeeded")!.json();
    assertEquals(final.output, ["tok0", "tok1", "tok2"]);
  } finally {
    await s.close();
    await hooks.close();
    await g.cleanup();
  }
});
