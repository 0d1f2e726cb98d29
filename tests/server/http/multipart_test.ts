// The streaming multipart reader behind POST /v1/files: bodies split at every
// possible chunk boundary, a boundary found in the body when Content-Type has
// none, content that almost looks like a delimiter, and hostile bodies
// (truncated, oversized, too many parts, endless headers) refused with a status.

import { assertEquals, assertRejects } from "../../_assert.ts";
import {
  boundaryOf,
  type MultipartError,
  type MultipartEvent,
  readMultipart,
} from "../../../src/server/http/_multipart.ts";

const encoder = new TextEncoder();

function body(text: string | Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/** Reads every part into {name, filename, type, text}. */
async function parts(
  stream: ReadableStream<Uint8Array>,
  boundary: string | null,
  maxBytes = 1 << 20,
) {
  const found: { name: string; filename: string | null; type: string | null; data: number[] }[] =
    [];
  for await (
    const event of readMultipart(stream, { boundary, maxBytes }) as AsyncIterable<
      MultipartEvent
    >
  ) {
    if (event.type === "part") {
      found.push({ name: event.name, filename: event.filename, type: event.contentType, data: [] });
    } else found.at(-1)!.data.push(...event.bytes);
  }
  return found.map((p) => ({ ...p, data: new TextDecoder().decode(new Uint8Array(p.data)) }));
}

const FORM = [
  "preamble to ignore\r\n",
  "--XyZ\r\n",
  'Content-Disposition: form-data; name="content"; filename="a \\"b\\".txt"\r\n',
  "Content-Type: text/plain\r\n",
  "\r\n",
  "line one\r\nalmost--XyZ\r\n--Xy\r\n\r\n-end",
  "\r\n--XyZ\r\n",
  'Content-Disposition: form-data; name="metadata"\r\n',
  "\r\n",
  '{"k":1}',
  "\r\n--XyZ--\r\n",
  "epilogue",
].join("");

Deno.test("a multipart body reads the same whatever its chunking, with or without the boundary parameter", async () => {
  const expected = [
    {
      name: "content",
      filename: 'a "b".txt',
      type: "text/plain",
      data: "line one\r\nalmost--XyZ\r\n--Xy\r\n\r\n-end",
    },
    { name: "metadata", filename: null, type: null, data: '{"k":1}' },
  ];
  for (const chunk of [1, 2, 3, 5, 7, 64, 4096]) {
    assertEquals(await parts(body(FORM, chunk), "XyZ"), expected, `chunks of ${chunk}`);
    assertEquals(
      await parts(body(FORM.slice("preamble to ignore\r\n".length), chunk), null),
      expected,
      `sniffed boundary, chunks of ${chunk}`,
    );
  }
});

Deno.test("boundaryOf reads quoted and bare boundary parameters", () => {
  assertEquals(boundaryOf("multipart/form-data; boundary=----abc"), "----abc");
  assertEquals(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b"'), "a b");
  assertEquals(boundaryOf("multipart/form-data"), null);
});

Deno.test("a real FormData body (binary content) survives the reader byte for byte", async () => {
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 31 + (i >> 8)) % 256);
  const form = new FormData();
  form.append("content", new Blob([bytes], { type: "application/octet-stream" }), "x.bin");
  const request = new Request("http://x/", { method: "POST", body: form });
  const type = request.headers.get("content-type")!;
  const data: number[] = [];
  for await (
    const event of readMultipart(request.body!, { boundary: boundaryOf(type), maxBytes: 1 << 20 })
  ) {
    if (event.type === "data") data.push(...event.bytes);
  }
  assertEquals(new Uint8Array(data), bytes);
});

Deno.test("hostile multipart bodies are refused with a status, never a hang", async () => {
  const cases: [string, string | null, number, RegExp, number?][] = [
    ['--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end', "B", 400, /ends early/],
    ["no boundary at all", "B", 400, /No multipart boundary/],
    ["not a boundary line\r\n", null, 400, /does not start with a boundary/],
    ["--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", "B", 400, /Content-Disposition/],
    ["--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--", "B", 400, /no name/],
    ["--B\r\n" + "X-Pad: aaaa\r\n".repeat(2000), "B", 400, /headers exceed/],
    [
      "--B\r\n" + 'Content-Disposition: form-data; name="a"\r\n\r\nx\r\n--B\r\n'.repeat(20),
      "B",
      400,
      /More than 16 multipart parts/,
    ],
    [
      '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + "x".repeat(5000),
      "B",
      413,
      /limit/,
      4096,
    ],
  ];
  for (const [text, boundary, status, message, maxBytes] of cases) {
    await assertRejects(async () => {
      try {
        await parts(body(text, 100), boundary, maxBytes);
      } catch (error) {
        assertEquals((error as MultipartError).status, status, text.slice(0, 40));
        throw error;
      }
    }, message);
  }
});
