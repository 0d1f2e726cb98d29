// The subprocess wrapper: line splitting, tails, termination and reaping.

import { assert, assertEquals } from "../_assert.ts";
import { readLines, spawnChild, TextTail } from "../../src/process/mod.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

Deno.test("readLines splits across chunk boundaries and yields a final unterminated line", async () => {
  const out: string[] = [];
  for await (const line of readLines(streamOf(["ab", "c\nde", "f\n\ng", "h"]))) out.push(line);
  assertEquals(out, ["abc", "def", "", "gh"]);
});

Deno.test("readLines handles one line of several megabytes", async () => {
  const big = "x".repeat(5 * 1024 * 1024);
  const chunks: string[] = [];
  for (let i = 0; i < big.length; i += 65536) chunks.push(big.slice(i, i + 65536));
  chunks.push("\nnext\n");
  const out: string[] = [];
  for await (const line of readLines(streamOf(chunks))) out.push(line);
  assertEquals(out.length, 2);
  assertEquals(out[0].length, big.length);
  assertEquals(out[1], "next");
});

Deno.test("TextTail keeps only the last bytes", () => {
  const tail = new TextTail(10);
  for (const part of ["0123456789", "abcdef", "XYZ"]) tail.push(part);
  assertEquals(tail.toString(), "6789abcdefXYZ".slice(-10));
});

Deno.test("terminate escalates to SIGKILL for a child that ignores SIGTERM, and reaps it", async () => {
  const child = spawnChild("python3", [
    "-c",
    "import signal,time,sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
  ]);
  const reader = readLines(child.stdout);
  assertEquals((await reader.next()).value, "ready");
  const exit = await child.terminate(200);
  assertEquals(exit.signal, "SIGKILL");
  assert(child.done);
  await child.stderr.cancel();
  await reader.return(undefined);
});
