// killLeftovers: what a child started is found by its token (even a double-forked
// setsid daemon, reparented away from it) and killed; nothing else is touched.

import { assert, assertEquals } from "../_assert.ts";
import { killLeftovers, newProcessToken, PROCESS_TOKEN_ENV } from "../../src/process/mod.ts";
import { running } from "./_proc.ts";

const DAEMON = `
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        sys.stdout.write(str(os.getpid()) + "\\n")
        sys.stdout.flush()
        os.close(1)
        time.sleep(1000)
    os._exit(0)
`;

async function startDaemon(env: Record<string, string>): Promise<number> {
  const out = await new Deno.Command("python3", {
    args: ["-c", DAEMON],
    env,
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test({
  name: "killLeftovers kills a double-forked daemon that carries the token and nothing else",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const token = newProcessToken();
    const tagged = await startDaemon({ [PROCESS_TOKEN_ENV]: token });
    const other = await startDaemon({ [PROCESS_TOKEN_ENV]: newProcessToken() });
    const untagged = await startDaemon({});
    try {
      assert(running(tagged) && running(other) && running(untagged));
      const killed = await killLeftovers({ token });
      assertEquals(killed, [tagged]);
      for (let i = 0; i < 100 && running(tagged); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assertEquals(running(tagged), false);
      assert(running(other), "another token's process is left alone");
      assert(running(untagged), "a process without a token is left alone");
      assertEquals(await killLeftovers({ token }), [], "nothing left the second time");
    } finally {
      for (const pid of [tagged, other, untagged]) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
  },
});

Deno.test("killLeftovers with a token nobody carries and no /proc kills nothing", async () => {
  assertEquals(await killLeftovers({ token: newProcessToken() }), []);
  assertEquals(
    await killLeftovers({ token: newProcessToken(), procDir: "/nonexistent-proc" }),
    [],
  );
});
