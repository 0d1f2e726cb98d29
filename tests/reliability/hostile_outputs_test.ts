// Output paths a model (or a hostile archive it unpacked) can return, read by
// the server with the server's identity: /dev/zero (reports size 0, never
// ends), /proc/self/environ (the *server's* environment), a FIFO (an open
// blocks for ever), a directory, a socket, symbolic links out of their
// directory or into /proc and /dev, and a file over COG_MAX_OUTPUT_FILE_BYTES.
// Each fails its prediction quickly with a clear error, leaks nothing, and the
// server's peak RSS stays bounded (a real `cog serve --no-docker` process,
// real worker, real HTTP). Safe outputs (a symlink inside its own directory, a
// large sparse file under the limit) still work.

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { FIXTURES, spawnCliServer, startFixture, startReceiver } from "../_helpers.ts";
import { openOutputFile, OutputFileError } from "../../src/server/files.ts";

const MIB = 1024 * 1024;
const ENV_MARKER = "ENV-SECRET-d41d8cd98f";
const FILE_MARKER = "FILE-SECRET-0cc175b9c0";

/** Peak resident set size of a process, bytes (Linux). */
async function peakRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

async function predict(url: string, input: Record<string, unknown>) {
  const started = performance.now();
  const response = await fetch(`${url}/predictions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text), ms: performance.now() - started };
}

Deno.test("hostile output paths fail quickly with a clear error, leak nothing, and keep server RSS bounded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cog-hostile-out-" });
  await Deno.mkdir(`${dir}/outside`);
  await Deno.mkdir(`${dir}/models`);
  const secret = `${dir}/outside/secret.txt`;
  await Deno.writeTextFile(secret, FILE_MARKER);
  const s = await spawnCliServer(`${FIXTURES}hostile_outputs`, [], {
    TMPDIR: `${dir}/models`,
    COG_MAX_OUTPUT_FILE_BYTES: String(8 * MIB),
    HOSTILE_TEST_MARKER: ENV_MARKER,
  });
  try {
    const before = await peakRss(s.child.pid);
    // The worker refuses these first (it resolves paths in its own process: /proc/self is
    // the worker); the server's own checks of the same cases are tested directly below.
    const refused: [Record<string, unknown>, RegExp][] = [
      [
        { kind: "dev_zero" },
        /^OutputFileError: Output file '\/dev\/zero' refused: it is under \/dev/,
      ],
      [
        { kind: "proc_environ" },
        /'\/proc\/self\/environ' \(resolves to '\/proc\/\d+\/environ'\) refused: it is under \/proc/,
      ],
      [{ kind: "fifo" }, /pipe\.png' refused: it is a FIFO \(named pipe\), not a regular file/],
      [{ kind: "directory" }, /hostile-\w+' refused: it is a directory, not a regular file/],
      [{ kind: "socket" }, /sock\.bin' refused: it is a socket, not a regular file/],
      [
        { kind: "symlink_out", target: secret },
        /out\.txt' \(resolves to '\S+\/outside\/secret\.txt'\) refused: it is a symbolic link to a file outside its own directory/,
      ],
      [
        { kind: "symlink_proc" },
        /out\.txt' \(resolves to '\/proc\/\d+\/environ'\) refused: it is under \/proc/,
      ],
      [
        { kind: "symlink_dev" },
        /out\.txt' \(resolves to '\/dev\/zero'\) refused: it is under \/dev/,
      ],
      [
        // the size limit is the server's alone
        { kind: "sparse", size: 64 * MIB },
        /big\.bin is 67108864 bytes, over the 8388608 byte limit \(COG_MAX_OUTPUT_FILE_BYTES\)$/,
      ],
    ];
    for (const [input, pattern] of refused) {
      const r = await predict(s.url, input);
      const what = JSON.stringify(input);
      assertEquals(r.status, 200, `${what}: ${r.text.slice(0, 300)}`);
      assertEquals(r.body.status, "failed", `${what}: ${r.text.slice(0, 300)}`);
      assertMatch(r.body.error, pattern, what);
      assertEquals(r.body.output, null, what);
      assert(!r.text.includes(ENV_MARKER) && !r.text.includes(FILE_MARKER), `${what} leaked`);
      assert(r.ms < 10_000, `${what} took ${Math.round(r.ms)} ms`);
    }

    // Safe outputs still work: a link inside its own directory, a large file under the limit.
    const inside = await predict(s.url, { kind: "symlink_in" });
    assertEquals(inside.body.status, "succeeded", inside.text.slice(0, 300));
    assertEquals(inside.body.output, `data:text/plain;base64,${btoa("inside")}`);
    const big = await predict(s.url, { kind: "sparse", size: 4 * MIB });
    assertEquals(big.body.status, "succeeded", big.text.slice(0, 300));
    assertEquals(
      big.body.output.length,
      "data:application/octet-stream;base64,".length + Math.ceil(4 * MIB / 3) * 4,
    );

    const grew = (await peakRss(s.child.pid)) - before;
    // /dev/zero used to take the server past 1 GiB in seconds; the 4 MiB output is streamed.
    assert(grew < 100 * MIB, `server peak RSS grew by ${Math.round(grew / MIB)} MiB`);
    const health = await (await fetch(`${s.url}/health-check`)).json();
    assertEquals(health.status, "READY");
  } finally {
    s.child.kill("SIGINT");
    assertEquals((await s.exit()).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with --upload-url, a hostile output path fails before anything is uploaded", async () => {
  const receiver = startReceiver();
  const dir = await Deno.makeTempDir({ prefix: "cog-hostile-up-" });
  await Deno.writeTextFile(`${dir}/secret.txt`, FILE_MARKER);
  const s = await startFixture("hostile_outputs", { uploadUrl: `${receiver.url}/bucket/` });
  try {
    for (
      const [input, pattern] of [
        [{ kind: "dev_zero" }, /'\/dev\/zero' refused: it is under \/dev/],
        [{ kind: "symlink_out", target: `${dir}/secret.txt` }, /outside its own directory/],
        [{ kind: "proc_environ" }, /'\/proc\/self\/environ' .*refused: it is under \/proc/],
      ] as const
    ) {
      const r = await s.request("POST", "/predictions", { input });
      assertEquals(r.body.status, "failed", JSON.stringify(r.body).slice(0, 300));
      assertMatch(r.body.error, pattern);
    }
    assertEquals(receiver.received.length, 0, "nothing was uploaded");
    const ok = await s.request("POST", "/predictions", { input: { kind: "ok" } });
    assertEquals(ok.body.status, "succeeded", ok.body.error);
    assertEquals(receiver.received.length, 1);
    assertEquals(new TextDecoder().decode(receiver.received[0].body), "fine");
  } finally {
    await s.close();
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openOutputFile refuses relative, missing and dangling paths and links out of their directory", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "cog-out-paths-" }));
  try {
    await Deno.mkdir(`${dir}/out/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/secret`, "s");
    await Deno.writeTextFile(`${dir}/out/sub/real.txt`, "12345");
    await Deno.symlink("sub/real.txt", `${dir}/out/a.txt`);
    await Deno.symlink("a.txt", `${dir}/out/chain.txt`); // a link to a link, both inside
    await Deno.symlink("../secret", `${dir}/out/up.txt`);
    await Deno.symlink("missing", `${dir}/out/dangling.txt`);
    const refuse = async (path: string, limit: number, pattern: RegExp) => {
      let error: unknown = null;
      try {
        (await openOutputFile(path, limit)).file.close();
      } catch (e) {
        error = e;
      }
      assert(error instanceof OutputFileError, `${path}: ${error}`);
      assertMatch((error as Error).message, pattern);
    };
    await refuse("out/a.txt", 100, /^output file out\/a\.txt is not an absolute path$/);
    await refuse(`${dir}/out/nope.txt`, 100, /does not exist$/);
    await refuse(`${dir}/out/dangling.txt`, 100, /does not exist$/);
    await refuse(`${dir}/out/up.txt`, 100, /is a symbolic link to .*\/secret, outside its own dir/);
    await refuse(`${dir}/out/a.txt`, 4, /is 5 bytes, over the 4 byte limit/);
    await refuse("/proc/self/environ", 1 << 30, /is in \/proc/);
    await refuse("/sys/kernel/notes", 1 << 30, /is in \/sys/);
    await refuse("/dev/null", 1 << 30, /is in \/dev/);
    for (const ok of ["a.txt", "chain.txt", "sub/real.txt"]) {
      const { file, size } = await openOutputFile(`${dir}/out/${ok}`, 5);
      file.close();
      assertEquals(size, 5, ok);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
