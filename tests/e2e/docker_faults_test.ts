// Fault on a real Docker engine: the serving container dies mid-serve (what a
// daemon stop or an OOM kill does to it). `cog serve` must report it clearly
// ("container exited with status ...") and exit non-zero, leaving no container.
// Stopping the engine itself is not done here: the engine is shared with other
// tests; `docker kill` of our own container has the same effect on cog serve.
// Skips with a printed reason when no engine (or no base image) is reachable.

import { ok as assert } from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DOCKER = Deno.env.get("DOCKER") ?? "docker";

async function run(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const o = await new Deno.Command(DOCKER, { args, stdout: "piped", stderr: "piped" }).output();
    return {
      code: o.code,
      out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr),
    };
  } catch (e) {
    return { code: -1, out: String(e) };
  }
}

const engine = await run(["version", "--format", "{{.Server.Version}}"]);
const base = engine.code === 0 ? await run(["image", "inspect", "python:3.11-slim"]) : engine;
const reason = engine.code !== 0
  ? `no Docker engine reachable (${engine.out.trim().split("\n").at(-1)})`
  : base.code !== 0
  ? "base image python:3.11-slim missing (make it with scripts/e2e_base_image.sh)"
  : null;
if (reason) console.log(`SKIP tests/e2e/docker_faults_test.ts: ${reason}`);

Deno.test({
  name:
    "docker: the serving container dying mid-serve ends cog serve with a clear error and no container",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cog-e2e-fault-" });
    Deno.writeTextFileSync(
      join(dir, "cog.yaml"),
      'build:\n  python_version: 3.11\npredict: "predict.py:Predictor"\n',
    );
    Deno.writeTextFileSync(
      join(dir, "predict.py"),
      "import time\nfrom cog import BasePredictor\n\nclass Predictor(BasePredictor):\n" +
        "    def predict(self, seconds: float = 30) -> str:\n        time.sleep(seconds)\n        return 'done'\n",
    );
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve", "-p", String(port), "--progress", "plain"],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    let log = "";
    const dec = new TextDecoder();
    const done = Promise.all([child.stdout, child.stderr].map(async (s) => {
      for await (const c of s) log += dec.decode(c);
    }));
    try {
      const deadline = Date.now() + 600_000;
      while (!log.includes("Serving at")) {
        if (Date.now() > deadline) throw new Error(`not ready:\n${log}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const name = /cog-serve-[\w.-]+-[0-9a-f]{8}/.exec(
        (await run(["ps", "--format", "{{.Names}}"])).out,
      )?.[0];
      assert(name, "the serving container is listed");
      while (true) {
        const h = await fetch(`http://127.0.0.1:${port}/health-check`).then(
          (r) => r.json(),
          () => ({}),
        );
        if (h.status === "READY") break;
        if (Date.now() > deadline) throw new Error(`setup did not finish:\n${log}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      // a prediction is running when the container dies
      const pending = fetch(`http://127.0.0.1:${port}/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { seconds: 30 } }),
      }).then((r) => r.status, (e) => String(e));
      await new Promise((r) => setTimeout(r, 1000));
      await run(["kill", "--signal", "KILL", name]);
      const status = await child.status;
      await done;
      const answer = await pending;
      assert(status.code !== 0, `cog serve exited ${status.code}`);
      assert(/container exited with status 137/.test(log), log);
      assert(typeof answer === "string", `the client saw the connection drop (${answer})`);
      const left = await run(["ps", "-a", "--filter", `name=${name}`, "--format", "{{.Names}}"]);
      assert(!left.out.includes(name), `container left behind: ${left.out}`);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
