// WebSocket streaming against the real server and a real Python worker, from
// Deno's built-in WebSocket client: one JSON message per event in order (the
// SSE payloads), replay when attaching to a running prediction, cancel when the
// socket closes early, and an error event + close for bad first messages.
// Progress is driven by gate files, never by timing.

// deno-lint-ignore-file no-explicit-any -- arbitrary JSON from the server
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, type TestServer, waitFor } from "../_helpers.ts";

interface Message {
  event: string;
  data: any;
}

/** A WebSocket client that records every message and how the socket closed. */
class Socket {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
    });
    this.closed = new Promise((resolve) => this.ws.onclose = resolve);
    this.ws.onmessage = (e) => this.messages.push(JSON.parse(e.data));
  }

  static async open(s: TestServer, path: string): Promise<Socket> {
    const socket = new Socket(`${s.url.replace("http", "ws")}${path}`);
    await socket.opened;
    return socket;
  }

  names(): string[] {
    return this.messages.map((m) => m.event);
  }
}

Deno.test("a WebSocket prediction sends start, logs, metrics, outputs and completed in order, then closes", async () => {
  const s = await startFixture("sse_tokens");
  try {
    const socket = await Socket.open(s, "/predictions");
    socket.ws.send(JSON.stringify({ id: "ws-1", input: { count: 3 } }));
    const close = await socket.closed;
    assertEquals(close.code, 1000);
    const names = socket.names();
    assertEquals(names[0], "start");
    assertEquals(names.at(-1), "completed");
    assertEquals(socket.messages[0].data, { id: "ws-1", status: "processing" });
    const outputs = socket.messages.filter((m) => m.event === "output").map((m) => m.data);
    assertEquals(outputs, [
      { chunk: "tok0", index: 0 },
      { chunk: "tok1", index: 1 },
      { chunk: "tok2", index: 2 },
    ]);
    const logs = socket.messages.filter((m) => m.event === "log").map((m) => m.data);
    assertEquals(logs[0], { source: "stdout", data: "token 0\n" });
    assert(names.includes("metric"));
    // Each token is logged before it is yielded.
    assert(names.indexOf("log") < names.indexOf("output"));
    const completed = socket.messages.at(-1)!.data;
    assertEquals([completed.id, completed.status], ["ws-1", "succeeded"]);
    assertEquals(completed.output, ["tok0", "tok1", "tok2"]);
    // The same payloads as the SSE stream of an identical prediction.
    const sse = await fetch(`${s.url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ input: { count: 3 } }),
    });
    const sseNames = [...(await sse.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assertEquals(sseNames, names);
  } finally {
    await s.close();
  }
});

Deno.test("GET /predictions/{id} with Upgrade replays what happened, then follows the prediction live", async () => {
  const s = await startFixture("sse_tokens");
  const dir = await Deno.makeTempDir();
  try {
    const gate = `${dir}/gate`;
    const created = await s.request("POST", "/predictions", {
      id: "ws-attach",
      input: { count: 3, gate },
    }, { prefer: "respond-async" });
    assertEquals(created.status, 202);
    await waitFor(() => s.server.service.get("ws-attach")?.outputCount === 1);
    const socket = await Socket.open(s, "/predictions/ws-attach");
    await waitFor(() => socket.names().includes("output"));
    assertEquals(socket.names().slice(0, 1), ["start"], "the replay starts at the beginning");
    await Deno.writeTextFile(gate, "");
    await socket.closed;
    const outputs = socket.messages.filter((m) => m.event === "output").map((m) => m.data.chunk);
    assertEquals(outputs, ["tok0", "tok1", "tok2"]);
    assertEquals(socket.names().at(-1), "completed");

    // Attaching after the end: the retained state, as one completed event.
    const late = await Socket.open(s, "/predictions/ws-attach");
    await late.closed;
    assertEquals(late.names(), ["completed"]);
    assertEquals(late.messages[0].data.output, ["tok0", "tok1", "tok2"]);
    const unknown = await Socket.open(s, "/predictions/nobody");
    await unknown.closed;
    assertEquals(unknown.messages, [{ event: "error", data: { error: "Prediction not found" } }]);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("closing the socket before the end cancels the prediction it created", async () => {
  const s = await startFixture("sse_tokens");
  const dir = await Deno.makeTempDir();
  try {
    const gate = `${dir}/gate`; // never created: the model waits after its first token
    const socket = await Socket.open(s, "/predictions");
    socket.ws.send(JSON.stringify({ id: "ws-leave", input: { count: 3, gate } }));
    await waitFor(() => socket.names().includes("output"));
    socket.ws.close();
    await socket.closed;
    await waitFor(() => s.server.service.lookup("ws-leave")?.status === "canceled", 20_000);
    await waitFor(async () => {
      try {
        return (await Deno.readTextFile(`${gate}.canceled`)) === "canceled";
      } catch {
        return false;
      }
    });
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad first message gets an error event with the 422 detail, then the socket closes", async () => {
  const s = await startFixture("sse_tokens");
  try {
    const invalid = await Socket.open(s, "/predictions");
    invalid.ws.send(JSON.stringify({ input: { count: "many" } }));
    const close = await invalid.closed;
    assertEquals(close.code, 1008);
    assertEquals(invalid.names(), ["error"]);
    const [issue] = invalid.messages[0].data.detail;
    assertEquals(issue.loc, ["body", "input", "count"]);

    const malformed = await Socket.open(s, "/predictions");
    malformed.ws.send("{not json");
    await malformed.closed;
    assertEquals(malformed.names(), ["error"]);
    assertMatch(malformed.messages[0].data.detail, /Malformed JSON body/);

    const binary = await Socket.open(s, "/predictions");
    binary.ws.send(new Uint8Array([1, 2, 3]));
    await binary.closed;
    assertMatch(binary.messages[0].data.detail, /must be text/);

    // Nothing ran.
    assertEquals(s.server.service.history.size, 0);
  } finally {
    await s.close();
  }
});

Deno.test("a WebSocket on a model without @streaming gets the SSE refusal as an error event", async () => {
  const s = await startFixture("echo");
  try {
    const socket = await Socket.open(s, "/predictions");
    socket.ws.send(JSON.stringify({ input: { text: "x" } }));
    await socket.closed;
    assertEquals(socket.names(), ["error"]);
    assertMatch(socket.messages[0].data.error, /does not support streaming/);
    // A plain GET is still not allowed on /predictions.
    assertEquals((await s.request("GET", "/predictions")).status, 405);
  } finally {
    await s.close();
  }
});
