// The pure helpers the playground and /docs pages share (src/server/http/ui/lib.js,
// the same file the browser loads): schema -> form fields, value coercion, curl,
// output classification, incremental SSE parsing.

import { assert, assertEquals, assertMatch } from "../../../_assert.ts";
import {
  constraintText,
  curlCommand,
  defaultText,
  errorMessage,
  exampleInput,
  type Field,
  inputFields,
  isConcatenateOutput,
  isStreamingModel,
  mediaKind,
  newPredictionId,
  parseFieldValue,
  parseSse,
  shellQuote,
  shortenDataUrls,
} from "../../../../src/server/http/ui/lib.js";

const DOC = {
  paths: { "/predictions": { post: { "x-cog-streaming": true } } },
  components: {
    schemas: {
      Input: {
        type: "object",
        required: ["image"],
        properties: {
          count: {
            title: "Count",
            type: "integer",
            default: 5,
            minimum: 1,
            maximum: 10,
            "x-order": 1,
          },
          mode: { allOf: [{ $ref: "#/components/schemas/mode" }], default: "fast", "x-order": 2 },
          image: { title: "Image", type: "string", format: "uri", "x-order": 3 },
          token: { type: "string", format: "password", "x-cog-secret": true, "x-order": 4 },
          text: {
            type: "string",
            description: "Some text",
            minLength: 1,
            maxLength: 20,
            "x-order": 0,
          },
          photos: { type: "array", items: { type: "string", format: "uri" }, "x-order": 5 },
          words: { type: "array", items: { type: "string" }, default: ["a", "b"], "x-order": 6 },
          maybe: { anyOf: [{ type: "number" }, { type: "null" }], default: null, "x-order": 7 },
          flag: { type: "boolean", default: false, "x-order": 8 },
          blob: { type: "object", "x-order": 9 },
        },
      },
      mode: {
        title: "mode",
        description: "An enumeration.",
        enum: ["fast", "slow"],
        type: "string",
      },
      Output: { type: "array", items: { type: "string" }, "x-cog-array-display": "concatenate" },
    },
  },
};

function field(name: string): Field {
  const found = inputFields(DOC).find((f) => f.name === name);
  if (!found) throw new Error(`no field ${name}`);
  return found;
}

Deno.test("inputFields orders inputs by x-order and picks an editor per type", () => {
  const fields = inputFields(DOC);
  assertEquals(
    fields.map((f) => [f.name, f.kind]),
    [
      ["text", "text"],
      ["count", "integer"],
      ["mode", "select"],
      ["image", "file"],
      ["token", "secret"],
      ["photos", "files"],
      ["words", "lines"],
      ["maybe", "number"],
      ["flag", "boolean"],
      ["blob", "json"],
    ],
  );
  assertEquals(field("mode").choices, ["fast", "slow"]);
  assertEquals(field("mode").description, "", "Pydantic's enum boilerplate is not shown");
  assertEquals(field("mode").typeLabel, "string (choice)");
  assertEquals(field("image").required, true);
  assertEquals(field("image").typeLabel, "file (uri)");
  assertEquals(field("photos").typeLabel, "array<file (uri)>");
  assertEquals(field("count").hasDefault, true);
  assertEquals(field("text").hasDefault, false);
});

Deno.test("constraintText describes ranges, lengths and patterns", () => {
  assertEquals(constraintText(field("count")), "1 ≤ x ≤ 10");
  assertEquals(constraintText(field("text")), "length 1–20");
  assertEquals(constraintText(field("flag")), "");
});

Deno.test("parseFieldValue coerces form text and omits blank optional values", () => {
  assertEquals(parseFieldValue(field("count"), "7"), { ok: true, omit: false, value: 7 });
  assertEquals(parseFieldValue(field("count"), "7.5"), {
    ok: false,
    error: "must be a whole number",
  });
  assertEquals(parseFieldValue(field("count"), "x"), { ok: false, error: "must be a number" });
  assertEquals(parseFieldValue(field("count"), ""), { ok: true, omit: true });
  assertEquals(parseFieldValue(field("image"), ""), { ok: false, error: "required" });
  assertEquals(parseFieldValue(field("mode"), "slow"), { ok: true, omit: false, value: "slow" });
  assertEquals(parseFieldValue(field("flag"), true), { ok: true, omit: false, value: true });
  assertEquals(parseFieldValue(field("words"), " a\n\nb \n"), {
    ok: true,
    omit: false,
    value: ["a", "b"],
  });
  assertEquals(parseFieldValue(field("blob"), '{"a":1}'), {
    ok: true,
    omit: false,
    value: { a: 1 },
  });
  assertEquals(parseFieldValue(field("blob"), "{").ok, false);
  assertEquals(parseFieldValue(field("text"), " keep spaces "), {
    ok: true,
    omit: false,
    value: " keep spaces ",
  });
});

Deno.test("defaultText and exampleInput start from the schema's defaults", () => {
  assertEquals(defaultText(field("words")), "a\nb");
  assertEquals(defaultText(field("maybe")), "");
  assertEquals(exampleInput(inputFields(DOC)), {
    count: 5,
    mode: "fast",
    image: "https://example.com/input.png",
    words: ["a", "b"],
    flag: false,
  });
});

Deno.test("curlCommand quotes the body for a POSIX shell and asks for SSE when streaming", () => {
  assertEquals(shellQuote("http://x:1/predictions"), "http://x:1/predictions");
  assertEquals(shellQuote("it's"), "'it'\\''s'");
  assertEquals(
    curlCommand("http://127.0.0.1:5000", { input: { text: "it's" } }),
    "curl -s -X POST http://127.0.0.1:5000/predictions \\\n" +
      "  -H 'Content-Type: application/json' \\\n" +
      `  -d '{"input":{"text":"it'\\''s"}}'`,
  );
  const streaming = curlCommand("http://h", { input: {} }, { streaming: true });
  assertMatch(streaming, /^curl -sN -X POST/);
  assertMatch(streaming, /-H 'Accept: text\/event-stream'/);
});

Deno.test("shortenDataUrls shortens only long data URLs, deeply", () => {
  const long = "data:image/png;base64," + "A".repeat(500);
  const short = shortenDataUrls({ a: [long], b: "plain", c: 1 }) as { a: string[]; b: string };
  assertMatch(short.a[0], /^data:image\/png;base64,A+…\[\d+ more chars\]$/);
  assertEquals(short.b, "plain");
});

Deno.test("mediaKind classifies data URLs by MIME and http URLs by extension", () => {
  assertEquals(mediaKind("data:image/png;base64,AAA"), "image");
  assertEquals(mediaKind("data:audio/wav;base64,AAA"), "audio");
  assertEquals(mediaKind("data:video/mp4;base64,AAA"), "video");
  assertEquals(mediaKind("data:application/pdf;base64,AAA"), "file");
  assertEquals(mediaKind("https://x.test/out/a.JPG?sig=1"), "image");
  assertEquals(mediaKind("http://x.test/a.mp3"), "audio");
  assertEquals(mediaKind("http://x.test/a.tar.gz"), "file");
  assertEquals(mediaKind("http://x.test/a.constructor"), "file", "no Object.prototype lookup");
  assertEquals(mediaKind("http://x.test/a.toString"), "file");
  assertEquals(mediaKind("hello world"), "text");
  assertEquals(mediaKind(42), "text");
});

Deno.test("isStreamingModel and isConcatenateOutput read the Cog extensions", () => {
  assert(isStreamingModel(DOC));
  assert(isConcatenateOutput(DOC));
  assert(!isStreamingModel({ paths: {} }));
});

Deno.test("parseSse returns complete events and keeps the unfinished rest", () => {
  const first = parseSse(
    'event: start\ndata: {"id":"x"}\n\n: keep-alive\n\nevent: output\ndata: {"ch',
  );
  assertEquals(first.events, [{ event: "start", data: '{"id":"x"}' }]);
  const second = parseSse(first.rest + 'unk":"a"}\r\n\r\ndata: one\ndata: two\n\n');
  assertEquals(second.events, [
    { event: "output", data: '{"chunk":"a"}' },
    { event: "message", data: "one\ntwo" },
  ]);
  assertEquals(second.rest, "");
});

Deno.test("newPredictionId makes distinct URL-safe ids", () => {
  const a = newPredictionId();
  assertMatch(a, /^pg[0-9a-f]{24}$/);
  assert(a !== newPredictionId());
});

Deno.test("errorMessage shows an error's message, else the thrown value", () => {
  assertEquals(errorMessage(new TypeError("Failed to fetch")), "Failed to fetch");
  assertEquals(errorMessage("plain"), "plain");
  assertEquals(errorMessage({ message: "" }), "[object Object]");
  assertEquals(errorMessage(null), "null");
});
