// Server logs: readable console lines by default, one JSON object per line with LOG_FORMAT=json.

import { assertEquals } from "../_assert.ts";
import { createLogger } from "../../src/server/log.ts";

const now = () => new Date("2026-01-02T03:04:05.000Z");

Deno.test("the console format is plain text, with the prediction id and non-info levels", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "console", level: "info", write: (l) => lines.push(l), now });
  log("info", "setup complete");
  log("warn", "two\nlines", { prediction_id: "p1" });
  log("debug", "hidden");
  assertEquals(lines, ["setup complete\n", "WARN [p1] two\n", "WARN [p1] lines\n"]);
});

Deno.test("LOG_FORMAT=json writes one JSON object per line with time, level, message and fields", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", level: "debug", write: (l) => lines.push(l), now });
  log("info", "a\nb", { prediction_id: "p2", status: "succeeded" });
  assertEquals(lines.length, 1);
  assertEquals(JSON.parse(lines[0]), {
    time: "2026-01-02T03:04:05.000Z",
    level: "info",
    message: "a\nb",
    prediction_id: "p2",
    status: "succeeded",
  });
});

Deno.test("LOG_FORMAT=json from the environment selects the JSON format", () => {
  const before = Deno.env.get("LOG_FORMAT");
  Deno.env.set("LOG_FORMAT", "json");
  try {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l), now })("error", "boom");
    assertEquals(JSON.parse(lines[0]).level, "error");
  } finally {
    if (before === undefined) Deno.env.delete("LOG_FORMAT");
    else Deno.env.set("LOG_FORMAT", before);
  }
});
