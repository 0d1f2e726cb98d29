// The benchmark's floor server (scripts/bench.ts): a bare Deno.serve answering
// a fixed JSON body the size of a prediction response. With --pipe, every
// request first makes one JSON line round trip through a python3 child (the
// least any pipe-based worker design can cost). Prints its port on stdout.

const body = JSON.stringify({
  id: "pred_0000000000000000",
  status: "succeeded",
  input: { text: "hello" },
  output: "hello",
  logs: "",
  error: null,
  metrics: { predict_time: 0.0001 },
  created_at: "2026-01-01T00:00:00.000Z",
  started_at: "2026-01-01T00:00:00.000Z",
  completed_at: "2026-01-01T00:00:00.000Z",
  version: null,
});

const ECHO = "import sys\nr = sys.stdin.buffer\nw = sys.stdout.buffer\n" +
  "for line in iter(r.readline, b''):\n    w.write(line)\n    w.flush()\n";

let roundTrip: ((line: string) => Promise<string>) | null = null;

if (Deno.args.includes("--pipe")) {
  const python = Deno.env.get("COG_PYTHON") ?? "python3";
  const child = new Deno.Command(python, {
    args: ["-u", "-c", ECHO],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const waiting: ((line: string) => void)[] = [];
  const encoder = new TextEncoder();
  (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const bytes of child.stdout) {
      pending += decoder.decode(bytes, { stream: true });
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        waiting.shift()?.(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
    }
  })();
  roundTrip = (line) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      writer.write(encoder.encode(line + "\n"));
    });
}

const headers = { "content-type": "application/json" };
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(port),
}, async (request) => {
  if (roundTrip) {
    const input = await request.text();
    await roundTrip(JSON.stringify({ v: 1, type: "predict", id: "x", input }));
  }
  return new Response(body, { headers });
});
