// Large payloads against the real server: a 100 MiB file output uploaded with
// --upload-url by the CLI server in a subprocess, whose memory is sampled from
// /proc to show the file streams from disk; and 10 MiB JSON inputs and outputs.

import { assert, assertEquals } from "../_assert.ts";
import { FIXTURES, spawnCliServer, startFixture, waitFor } from "../_helpers.ts";

const MiB = 1024 * 1024;

/** kB values of VmRSS and VmHWM for a process. */
async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: field("VmRSS") * 1024, hwm: field("VmHWM") * 1024 };
}

/** An upload receiver that consumes each body as a stream, counting and checking bytes. */
function startCountingReceiver() {
  const uploads: {
    path: string;
    length: string | null;
    chunked: boolean;
    bytes: number;
    patternOk: boolean;
  }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const record = {
      path: new URL(req.url).pathname,
      length: req.headers.get("content-length"),
      chunked: req.headers.get("transfer-encoding") !== null,
      bytes: 0,
      patternOk: true,
    };
    for await (const chunk of req.body!) {
      // big_output writes bytes(range(256)) repeated: byte i is i % 256.
      if (
        chunk[0] !== record.bytes % 256 ||
        chunk[chunk.length - 1] !== (record.bytes + chunk.length - 1) % 256
      ) {
        record.patternOk = false;
      }
      record.bytes += chunk.length;
    }
    uploads.push(record);
    return new Response(null, {
      status: 201,
      headers: { location: `https://store.test${record.path}` },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/uploads`,
    uploads,
    close: () => server.shutdown(),
  };
}

async function startCliServer(args: string[], cwd: string) {
  const cli = await spawnCliServer(cwd, args, {}, null);
  return {
    url: cli.url,
    pid: cli.child.pid,
    async stop() {
      await fetch(`${cli.url}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel()).catch(
        () => {},
      );
      return await cli.exit();
    },
  };
}

Deno.test("a 100 MiB file output is uploaded from disk with the server's memory staying bounded", async () => {
  const receiver = startCountingReceiver();
  const server = await startCliServer(["--upload-url", receiver.url], `${FIXTURES}big_output`);
  const outDir = await Deno.makeTempDir({ prefix: "cog-big-output-" });
  try {
    await waitFor(
      async () => {
        const r = await fetch(`${server.url}/health-check`);
        return (await r.json()).status === "READY";
      },
      30_000,
      "the server to be READY",
    );
    const predict = async (mib: number) => {
      const r = await fetch(`${server.url}/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { mib, dir: outDir } }),
      });
      return await r.json();
    };
    const warm = await predict(1);
    assertEquals(warm.status, "succeeded", warm.error);
    const before = await memory(server.pid);
    let peakRss = before.rss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, (await memory(server.pid)).rss);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const big = await predict(100);
    sampling = false;
    await sampler;
    const after = await memory(server.pid);
    assertEquals(big.status, "succeeded", big.error);
    assertEquals(big.output, "https://store.test/uploads/big.bin");
    const upload = receiver.uploads.at(-1)!;
    assertEquals(upload.path, "/uploads/big.bin");
    assertEquals(upload.bytes, 100 * MiB);
    assertEquals(upload.length, String(100 * MiB), "sent with a Content-Length");
    assertEquals(upload.chunked, false);
    assert(upload.patternOk, "the bytes arrived in order and intact");
    const growth = Math.max(peakRss, after.hwm) - Math.max(before.rss, before.hwm);
    console.log(
      `server RSS before ${(before.rss / MiB).toFixed(1)} MiB (HWM ${
        (before.hwm / MiB).toFixed(1)
      }), ` +
        `peak during upload ${(peakRss / MiB).toFixed(1)} MiB, HWM after ${
          (after.hwm / MiB).toFixed(1)
        } MiB, ` +
        `growth ${(growth / MiB).toFixed(1)} MiB for a 100 MiB file`,
    );
    assert(growth < 40 * MiB, `the server's memory grew by ${(growth / MiB).toFixed(1)} MiB`);
  } finally {
    const status = await server.stop();
    await receiver.close();
    await Deno.remove(outDir, { recursive: true });
    assertEquals(status.code, 0);
  }
});

Deno.test("a 100 MiB file output comes back as a data URL streamed from disk, the server's memory staying bounded", async () => {
  const server = await startCliServer([], `${FIXTURES}big_output`);
  const outDir = await Deno.makeTempDir({ prefix: "cog-big-dataurl-" });
  try {
    await waitFor(
      async () => (await (await fetch(`${server.url}/health-check`)).json()).status === "READY",
      30_000,
      "the server to be READY",
    );
    const request = (mib: number) =>
      fetch(`${server.url}/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: { mib, dir: outDir } }),
      });
    const warm = await (await request(2)).json();
    assertEquals(warm.status, "succeeded", warm.error);
    assert(warm.output.startsWith("data:application/octet-stream;base64,"), "a data URL");
    assertEquals(atob(warm.output.split(",")[1]).length, 2 * MiB);

    const before = await memory(server.pid);
    let peakRss = before.rss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, (await memory(server.pid)).rss);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    // Read the body as a stream: decode the base64 of the output as it arrives and check the bytes.
    const response = await request(100);
    assertEquals(response.status, 200);
    const decoder = new TextDecoder();
    let text = "";
    let inOutput = false;
    let carry = "";
    let decoded = 0;
    let patternOk = true;
    const prefix = '"output":"data:application/octet-stream;base64,';
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk, { stream: true });
      if (!inOutput) {
        const at = text.indexOf(prefix);
        if (at === -1) continue;
        inOutput = true;
        text = text.slice(at + prefix.length);
      }
      const end = text.indexOf('"');
      const piece = carry + (end === -1 ? text : text.slice(0, end));
      const usable = piece.length - (piece.length % 4);
      const bytes = atob(piece.slice(0, usable));
      for (let i = 0; i < bytes.length; i++) {
        if (bytes.charCodeAt(i) !== (decoded + i) % 256) patternOk = false;
      }
      decoded += bytes.length;
      carry = piece.slice(usable);
      text = end === -1 ? "" : text.slice(end);
      if (end !== -1) break;
    }
    await response.body?.cancel().catch(() => {});
    sampling = false;
    await sampler;
    const after = await memory(server.pid);
    assertEquals(decoded, 100 * MiB, "the whole file arrived");
    assert(patternOk, "the bytes arrived in order and intact");
    const growth = Math.max(peakRss, after.hwm) - Math.max(before.rss, before.hwm);
    console.log(
      `data URL: server RSS before ${(before.rss / MiB).toFixed(1)} MiB, peak ${
        (peakRss / MiB).toFixed(1)
      } MiB, growth ${(growth / MiB).toFixed(1)} MiB for a 100 MiB file`,
    );
    assert(growth < 64 * MiB, `the server's memory grew by ${(growth / MiB).toFixed(1)} MiB`);
  } finally {
    const status = await server.stop();
    await Deno.remove(outDir, { recursive: true });
    assertEquals(status.code, 0);
  }
});

Deno.test("10 MiB JSON inputs and outputs pass intact, multi-byte characters included", async () => {
  const s = await startFixture("large_json");
  try {
    const unit = 'abcdefghij\u00e9\u4e2d\ud83d\ude00"\\\n\t<>&';
    let blob = "";
    while (blob.length < 10 * MiB) blob += unit + blob.length.toString(36);
    const items = Array.from({ length: 100_000 }, (_, i) => ({ i, tag: `item-${i}` }));
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(blob)),
    );
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    const { status, body } = await s.request("POST", "/predictions", { input: { blob, items } });
    assertEquals(status, 200);
    assertEquals(body.status, "succeeded", body.error);
    assertEquals(body.output.length, [...blob].length, "Python counts code points");
    assertEquals(body.output.sha256, hex, "the worker received exactly the bytes sent");
    assertEquals(body.output.items, 100_000);
    assertEquals(body.output.last, { i: 99_999, tag: "item-99999" });
    assert(body.output.echo === blob, "the 10 MiB output came back identical");
    assertEquals(body.input.blob.length, blob.length);

    const doubled = await s.request("POST", "/predictions", {
      input: { blob: blob.slice(0, 6 * MiB), repeat: 2 },
    });
    assertEquals(doubled.body.status, "succeeded", doubled.body.error);
    assertEquals(doubled.body.output.echo.length, 12 * MiB, "a 12 MiB output");
  } finally {
    await s.close();
  }
});
