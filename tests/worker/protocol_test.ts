// The worker protocol codec against the golden fixtures shared with the
// Python tests (tests/fixtures/protocol/*.jsonl).

import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  decodeServerMessage,
  decodeWorkerMessage,
  encodeServerMessage,
  ProtocolError,
} from "../../src/worker/mod.ts";

const dir = new URL("../fixtures/protocol/", import.meta.url);

function lines(name: string): string[] {
  return Deno.readTextFileSync(new URL(name, dir)).split("\n").filter((l) => l.trim() !== "");
}

Deno.test("every golden worker message decodes and keeps its fields", () => {
  const all = lines("worker_to_server.jsonl");
  assert(all.length >= 15);
  for (const line of all) {
    const message = decodeWorkerMessage(line);
    assertEquals(message, JSON.parse(line));
  }
});

Deno.test("every golden server message decodes and re-encodes to the same JSON", () => {
  for (const line of lines("server_to_worker.jsonl")) {
    const message = decodeServerMessage(line);
    const { v: _v, ...body } = message;
    assertEquals(JSON.parse(encodeServerMessage(body as never)), JSON.parse(line));
  }
});

Deno.test("every invalid golden line is rejected in both directions with a ProtocolError", () => {
  for (const line of lines("invalid.jsonl")) {
    assertThrows(() => decodeWorkerMessage(line), /./);
    assertThrows(() => decodeServerMessage(line), /./);
    try {
      decodeWorkerMessage(line);
    } catch (error) {
      assert(error instanceof ProtocolError, `${line}: ${error}`);
    }
  }
});

Deno.test("a message of another protocol version is refused with a message naming both versions", () => {
  assertThrows(
    () => decodeWorkerMessage('{"v":2,"type":"canceled","id":"x"}'),
    /protocol version 2 is not supported \(this server speaks 1\)/,
  );
});

Deno.test("encoded server messages are exactly one line, even with newlines in values", () => {
  const line = encodeServerMessage({
    type: "predict",
    id: "p",
    input: { text: "a\nb" },
    context: {},
    output_dir: "/tmp/x",
  });
  assertEquals(line.indexOf("\n"), line.length - 1);
  assertEquals(decodeServerMessage(line.trim()).type, "predict");
});
