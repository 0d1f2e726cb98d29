// Runs `scripts/soak.ts --quick` (a few hundred predictions on a real server
// subprocess with random cancels, disconnects, SSE subscribers leaving and a
// failing webhook receiver) and asserts its invariants from the summary line.

import { assert, assertEquals } from "../_assert.ts";

const SCRIPT = new URL("../../scripts/soak.ts", import.meta.url).pathname;

Deno.test("soak --quick: nothing lost, exactly-once terminal webhooks, no leaks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--quick", "--max-seconds", "120"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  console.log(text.split("\n").filter((l) => !l.startsWith("SOAK_SUMMARY")).join("\n"));
  const line = text.split("\n").find((l) => l.startsWith("SOAK_SUMMARY "));
  assert(line, `no summary; stderr:\n${new TextDecoder().decode(out.stderr).slice(-3000)}`);
  const summary = JSON.parse(line.slice("SOAK_SUMMARY ".length));
  assertEquals(summary.problems, []);
  assertEquals(summary.lost, 0);
  assertEquals(summary.duplicateTerminalWebhooks, 0);
  assertEquals(summary.outcomes.failed, 0);
  assertEquals(summary.predictions, summary.terminalWebhooksDelivered);
  assert(summary.predictions >= 300, `only ${summary.predictions} predictions`);
  assert(
    summary.webhookFailuresInjected > 0 && summary.cancelsSent > 0 && summary.clientDisconnects > 0,
  );
  assertEquals(summary.after.tempFiles, 0);
  assertEquals(summary.after.children, summary.before.children);
  assertEquals(summary.exitCode, 0);
  assertEquals(summary.tmpEntriesAfterExit, 0);
  assertEquals(out.code, 0);
});
