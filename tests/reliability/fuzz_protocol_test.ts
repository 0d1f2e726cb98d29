// Property-based fuzzing (fast-check) of the worker protocol decoder: whatever
// line a (broken or hostile) worker writes, decodeWorkerMessage either returns
// a message that re-validates or throws a ProtocolError with a message; never
// another exception (the worker reader treats anything else as a crash), never
// a hang. Valid golden messages survive a round trip. Prints the case counts.

import fc from "fast-check";
import { assert, assertEquals } from "../_assert.ts";
import {
  decodeServerMessage,
  decodeWorkerMessage,
  encodeServerMessage,
  ProtocolError,
  WorkerMessageSchema,
} from "../../src/worker/protocol.ts";

const GOLDEN = new URL("../fixtures/protocol/", import.meta.url).pathname;
const golden = Deno.readTextFileSync(`${GOLDEN}worker_to_server.jsonl`).split("\n").filter((l) =>
  l.trim()
);
const goldenServer = Deno.readTextFileSync(`${GOLDEN}server_to_worker.jsonl`).split("\n")
  .filter((l) => l.trim());

let cases = 0;

/** Decodes, and checks the only outcomes allowed. */
function decodeChecked(line: string): "ok" | "refused" {
  cases++;
  try {
    const message = decodeWorkerMessage(line);
    // anything accepted must be a valid message of this protocol version
    assert(WorkerMessageSchema.safeParse(message).success);
    assertEquals(message.v, 1);
    return "ok";
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`decoder threw ${error} (not a ProtocolError) for ${line.slice(0, 200)}`);
    }
    assert(error.message.length > 0);
    return "refused";
  }
}

// JSON-ish values with the awkward corners: huge/odd numbers, unicode, deep nesting.
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -0, 1e308, -1e308, 2 ** 53 + 1, "", "\u0000", "\ud800"),
    fc.double(),
    fc.integer(),
    fc.string({ unit: "binary" }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

const TYPES = [
  "hello",
  "log",
  "ready",
  "setup_failed",
  "started",
  "output",
  "metric",
  "done",
  "failed",
  "canceled",
  "healthcheck_result",
  "fatal",
  "predict",
  "nonsense",
];
const FIELDS = [
  "v",
  "type",
  "id",
  "source",
  "data",
  "index",
  "value",
  "files",
  "is_stream",
  "output",
  "error",
  "name",
  "mode",
  "status",
  "predictor",
  "signature",
  "pid",
  "protocol",
  "python",
  "sdk",
  "traceback",
  "reason",
];

Deno.test("fuzz: arbitrary lines never make the worker-message decoder throw anything but ProtocolError", () => {
  const before = cases;
  // 1. any text at all (including invalid UTF-8 decoded leniently, control chars, surrogates)
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), (line) => {
      decodeChecked(line);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      decodeChecked(new TextDecoder().decode(bytes));
    }),
    { numRuns: 1000 },
  );
  // 2. any JSON value
  fc.assert(
    fc.property(jsonish, (value) => {
      decodeChecked(JSON.stringify(value) ?? "null");
    }),
    { numRuns: 2000 },
  );
  // 3. message-shaped objects: a known type, known field names, random values
  fc.assert(
    fc.property(
      fc.constantFrom(...TYPES),
      fc.dictionary(fc.constantFrom(...FIELDS), jsonish, { maxKeys: 8 }),
      fc.constantFrom(1, 1, 1, 2, 0, "1", null),
      (type, fields, v) => {
        decodeChecked(JSON.stringify({ ...fields, v, type }));
      },
    ),
    { numRuns: 3000 },
  );
  console.log(`fuzz_protocol: ${cases - before} arbitrary lines decoded or refused cleanly`);
});

Deno.test("fuzz: mutated golden messages are refused cleanly or still valid", () => {
  const before = cases;
  const parsed = golden.map((l) => JSON.parse(l) as Record<string, unknown>);
  fc.assert(
    fc.property(
      fc.constantFrom(...parsed),
      fc.constantFrom(...FIELDS),
      fc.oneof(jsonish, fc.constant(undefined)),
      (message, field, replacement) => {
        const copy: Record<string, unknown> = structuredClone(message);
        if (replacement === undefined) delete copy[field];
        else copy[field] = replacement;
        decodeChecked(JSON.stringify(copy));
      },
    ),
    { numRuns: 3000 },
  );
  // byte-level damage: truncation, an inserted byte, a flipped character
  fc.assert(
    fc.property(
      fc.constantFrom(...golden),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom("truncate", "insert", "replace"),
      (line, at, byte, how) => {
        const i = at % (line.length + 1);
        const ch = String.fromCharCode(byte);
        const damaged = how === "truncate"
          ? line.slice(0, i)
          : how === "insert"
          ? line.slice(0, i) + ch + line.slice(i)
          : line.slice(0, i) + ch + line.slice(i + 1);
        decodeChecked(damaged);
      },
    ),
    { numRuns: 3000 },
  );
  console.log(`fuzz_protocol: ${cases - before} mutated golden messages handled`);
});

Deno.test("fuzz: deep nesting and huge lines are refused or accepted without a stack overflow", () => {
  const before = cases;
  for (const depth of [10, 100, 1_000, 10_000, 100_000]) {
    const value = "[".repeat(depth) + "1" + "]".repeat(depth);
    decodeChecked(`{"v":1,"type":"output","id":"p","index":0,"value":${value},"files":[]}`);
    const obj = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    decodeChecked(`{"v":1,"type":"metric","id":"p","name":"m","value":${obj},"mode":"replace"}`);
    decodeChecked(value);
  }
  const big = "x".repeat(8 * 1024 * 1024);
  assertEquals(
    decodeChecked(JSON.stringify({ v: 1, type: "log", id: null, source: "stdout", data: big })),
    "ok",
  );
  assertEquals(decodeChecked(`{"v":1,"type":"done","id":"p","is_stream":false,"v":2}`), "refused");
  assertEquals(decodeChecked(`{"v":1,"type":"done","id":"p","is_stream":false,"id":"q"}`), "ok");
  console.log(`fuzz_protocol: ${cases - before} deep/huge/duplicate-key lines handled`);
});

Deno.test("fuzz: every server message round-trips through encode/decode", () => {
  const before = cases;
  for (const line of goldenServer) {
    const message = decodeServerMessage(line);
    const { v: _v, ...body } = message;
    assertEquals(decodeServerMessage(encodeServerMessage(body as never).trimEnd()), message);
  }
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, unit: "binary" }),
      fc.dictionary(fc.string({ unit: "binary" }), jsonish, { maxKeys: 5 }),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ unit: "binary" }), { maxKeys: 3 }),
      (id, input, context) => {
        cases++;
        const line = encodeServerMessage({
          type: "predict",
          id,
          input: input as never,
          context,
          output_dir: "/tmp/out",
        });
        // one line, whatever the content
        assertEquals(line.indexOf("\n"), line.length - 1);
        const back = decodeServerMessage(line.trimEnd());
        assertEquals(back.type, "predict");
      },
    ),
    { numRuns: 1000 },
  );
  console.log(`fuzz_protocol: ${cases - before} server messages round-tripped`);
});
