// `deno task bench --quick` runs end to end, prints its table and writes
// bench/results.json. No timing is asserted: figures depend on the machine.

import { assert, assertEquals } from "./_assert.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test({
  name: "bench --quick prints the table and writes bench/results.json",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const results = `${root}bench/results.json`;
    await Deno.remove(results).catch(() => {});
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/bench.ts", "--quick"],
      cwd: root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, `bench failed:\n${stdout}\n${stderr}`);
    for (
      const heading of [
        "| figure",
        "1 sync echo, 1 conn: p50",
        "1 sync echo, 1 conn: CPU/request",
        "2 async echo, 8 conns: req/s",
        "2 async echo, 8 conns: CPU/request",
        "3 stream 10000 tokens: throughput",
        "3 stream yield->event: p99",
        "data URL: RSS growth",
        "upload: RSS growth",
        "5 start -> READY",
        "6 idle RSS: server",
        "6 idle RSS: worker",
      ]
    ) {
      assert(stdout.includes(heading), `missing "${heading}" in:\n${stdout}`);
    }
    const json = JSON.parse(await Deno.readTextFile(results));
    assertEquals(json.quick, true);
    assertEquals(json.table.length, 17, "without the Docker rows (--quick)");
    assert(stdout.includes("docker: skipped (not measured with --quick)"), stdout);
    for (const row of json.table) assertEquals(typeof row.measured, "number", row.figure);
    assertEquals(json.figures.stream.status, "succeeded");
    assertEquals(json.figures.long_stream.tokens, 10_000);
    for (const round of json.rounds) {
      assert(round.cpu_per_request_ms.sync_1conn > 0, JSON.stringify(round));
      assert(round.cpu_per_request_ms.floor_piped_8conn > 0, JSON.stringify(round));
    }
    assertEquals(json.figures.big_file_upload.ok, true);
  },
});
