// Browser tests of the playground (GET /) and /docs in headless Chromium
// (Debian's `chromium` package, driven by playwright-core) against the real
// server on fixture predictors. Every test also checks that the page asked
// nothing of any host but the server. Without Chromium the tests are skipped
// with a printed reason.

import { Buffer } from "node:buffer";
import { type Browser, chromium, type Page, type Request } from "playwright-core";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, type TestServer, waitFor, writeProject } from "../_helpers.ts";

const CHROMIUM = Deno.env.get("COG_TEST_CHROMIUM") ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
// Screenshots for a human to look at: set COG_PLAYGROUND_SCREENSHOT to keep them somewhere.
const SCREENSHOT = Deno.env.get("COG_PLAYGROUND_SCREENSHOT") ??
  `${Deno.env.get("TMPDIR") ?? "/tmp"}/playground.png`;

async function hasChromium(): Promise<boolean> {
  try {
    return (await Deno.stat(CHROMIUM)).isFile;
  } catch {
    return false;
  }
}

const skip = !(await hasChromium());
if (skip) {
  console.log(
    `skipping browser tests: no Chromium at ${CHROMIUM} ` +
      "(install the Debian package `chromium`, or set COG_TEST_CHROMIUM)",
  );
}

/** A page on a running fixture, with every request it made. */
interface Session {
  page: Page;
  server: TestServer;
  requests: string[];
}

/** Starts a fixture and a browser, runs `fn`, then checks no request left the server. */
async function withPage(
  fixture: string | { dir: string; waitSetup?: boolean; env?: Record<string, string> },
  fn: (session: Session) => Promise<void>,
): Promise<void> {
  const server = typeof fixture === "string"
    ? await startFixture(fixture)
    : await startFixture("", { dir: fixture.dir, waitSetup: fixture.waitSetup, env: fixture.env });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ serviceWorkers: "block" });
    const requests: string[] = [];
    context.on("request", (request: Request) => requests.push(request.url()));
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await fn({ page, server, requests });
    assertOnlyServer(requests, server.url);
    assertEquals(consoleErrors.filter((text) => !/status of 4\d\d|status of 503/.test(text)), []);
  } finally {
    await browser?.close();
    await server.close();
  }
}

/** Fails if any network request went to a host other than the server. */
function assertOnlyServer(requests: string[], serverUrl: string): void {
  const origin = new URL(serverUrl).origin;
  const network = requests.filter((url) => !url.startsWith("data:") && !url.startsWith("blob:"));
  const elsewhere = network.filter((url) => new URL(url).origin !== origin);
  assertEquals(elsewhere, [], `the page contacted hosts other than ${origin}`);
}

/** Waits until the output image has loaded and returns its natural width (page CSP forbids eval). */
async function imageWidth(page: Page): Promise<number> {
  const image = page.locator("#output img");
  await image.waitFor();
  let width = 0;
  await waitFor(
    async () => {
      width = Number(
        await image.evaluate((node) => (node as unknown as { naturalWidth: number }).naturalWidth),
      );
      return width > 0;
    },
    20_000,
    "the output image to load",
  );
  return width;
}

async function status(page: Page, expected: string): Promise<void> {
  await page.waitForSelector(`#status[data-status="${expected}"]`);
}

const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: skip, sanitizeOps: false, sanitizeResources: false, fn });

browserTest(
  "the playground builds the form from the schema, runs a prediction and shows the JSON output",
  async () => {
    await withPage("typed", async ({ page, server }) => {
      await page.goto(server.url);
      await page.waitForSelector('[data-field="code"]');

      const order = await page.$$eval(
        ".field",
        (nodes) => nodes.map((n) => n.getAttribute("data-field")),
      );
      assertEquals(order, ["text", "count", "scale", "flag", "mode", "code"]);
      assertEquals(await page.inputValue("#field-text"), "hi");
      assertMatch(await page.textContent('[data-field="text"] .desc') ?? "", /Some text/);
      assertMatch(await page.textContent('[data-field="text"] .meta') ?? "", /length 1–20/);
      const count = page.locator("#field-count");
      assertEquals(await count.inputValue(), "5");
      assertEquals(await count.getAttribute("min"), "1");
      assertEquals(await count.getAttribute("max"), "10");
      assertEquals(await count.getAttribute("step"), "1");
      assertMatch(await page.textContent('[data-field="count"] .meta') ?? "", /1 ≤ x ≤ 10/);
      assertEquals(await page.inputValue("#field-scale"), "1.5");
      assertEquals(await page.isChecked("#field-flag"), false);
      const choices = await page.$$eval(
        "#field-mode option",
        (nodes) => nodes.map((n) => n.textContent),
      );
      assertEquals(choices, ["fast", "slow"]);
      assertEquals(await page.inputValue("#field-mode"), "fast");
      assertMatch(await page.textContent('[data-field="code"] .meta') ?? "", /matches/);

      // An out-of-range value comes back as a 422 shown on its field.
      await page.fill("#field-count", "11");
      await page.click("#run");
      await status(page, "invalid input");
      await page.waitForSelector('[data-field="count"].invalid .error:not(.hidden)');

      await page.fill("#field-text", "hello there");
      await page.fill("#field-count", "7");
      await page.check("#field-flag");
      await page.selectOption("#field-mode", "slow");
      await page.click("#run");
      await status(page, "succeeded");
      assertEquals(await page.$$eval(".field.invalid", (nodes) => nodes.length), 0);
      const output = JSON.parse(await page.textContent("#output pre.json") ?? "null");
      assertEquals(output, {
        text: "hello there",
        count: 7,
        scale: 1.5,
        flag: true,
        mode: "slow",
        code: "ab12",
      });
      const curl = await page.textContent("#curl") ?? "";
      assertMatch(curl, /^curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/predictions/);
      assertMatch(curl, /"count":7/);
      assertMatch(await page.textContent("#timing") ?? "", /predict_time/);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    });
  },
);

browserTest("the playground renders an image output inline", async () => {
  await withPage("files_out", async ({ page, server }) => {
    await page.goto(server.url);
    await page.waitForSelector("#field-size");
    await page.fill("#field-size", "16");
    await page.click("#run");
    await status(page, "succeeded");
    assertEquals(await imageWidth(page), 16);
    assertMatch(await page.getAttribute("#output img", "src") ?? "", /^data:image\/png;base64,/);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "_image.png"), fullPage: true });
  });
});

browserTest("the playground uploads files as data URLs", async () => {
  await withPage("file_inputs", async ({ page, server }) => {
    await page.goto(server.url);
    await page.waitForSelector('[data-field="image"] input[type=file]');
    assertEquals(await page.getAttribute('[data-field="image"]', "data-kind"), "file");
    assertEquals(await page.getAttribute('[data-field="photos"]', "data-kind"), "files");
    const bytes = Buffer.from("not really a png");
    await page.setInputFiles('[data-field="image"] input[type=file]', {
      name: "in.png",
      mimeType: "image/png",
      buffer: bytes,
    });
    await page.setInputFiles('[data-field="photos"] input[type=file]', [
      { name: "a.txt", mimeType: "text/plain", buffer: Buffer.from("a") },
      { name: "b.txt", mimeType: "text/plain", buffer: Buffer.from("bb") },
    ]);
    await page.fill("#field-texts", "one\ntwo");
    await page.click("#run");
    await status(page, "succeeded");
    const output = JSON.parse(await page.textContent("#output pre.json") ?? "null");
    assertEquals(output.image.size, bytes.length);
    assertEquals(output.photos.map((p: { size: number }) => p.size), [1, 2]);
    assertMatch(await page.textContent("#curl") ?? "", /"image":"data:image\/png;base64,/);
  });
});

const GATED_STREAM = `import os
import time

from cog import BasePredictor, ConcatenateIterator, streaming


class Predictor(BasePredictor):
    @streaming
    def predict(self, words: str = "alpha beta gamma", gates: str = "") -> ConcatenateIterator[str]:
        """Yields one word per gate file gates/0, gates/1, ... as they appear."""
        for i, word in enumerate(words.split()):
            while gates and not os.path.exists(os.path.join(gates, str(i))):
                time.sleep(0.01)
            print("token", i)
            yield word + " "
`;

browserTest("the playground streams text token by token over SSE", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": GATED_STREAM,
  });
  const gates = await Deno.makeTempDir({ prefix: "cog-gates-" });
  try {
    await withPage({ dir }, async ({ page, server }) => {
      await page.goto(server.url);
      await page.waitForSelector("#field-gates");
      await page.fill("#field-gates", gates);
      assertMatch(await page.textContent("#curl") ?? "", /-H 'Accept: text\/event-stream'/);
      await page.click("#run");
      const seen: string[] = [];
      const expected = ["alpha ", "alpha beta ", "alpha beta gamma "];
      for (let i = 0; i < expected.length; i++) {
        await Deno.writeTextFile(`${gates}/${i}`, "");
        await waitFor(
          async () => await page.textContent("#output pre.text-output") === expected[i],
          20_000,
          `output ${JSON.stringify(expected[i])}`,
        );
        seen.push(await page.textContent("#output pre.text-output") ?? "");
        if (i < expected.length - 1) {
          // Still running: the text arrived before the prediction finished.
          assertEquals(await page.getAttribute("#status", "data-status"), "processing");
          assertMatch(await page.textContent("#logs") ?? "", new RegExp(`token ${i}`));
          if (i === 1) await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "_stream.png") });
        }
      }
      await status(page, "succeeded");
      assertEquals(seen, expected);
      assertEquals(await page.textContent("#output pre.text-output"), "alpha beta gamma ");
    });
  } finally {
    await Deno.remove(gates, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

const GATED_SETUP = `import os
import time

from cog import BasePredictor


class Predictor(BasePredictor):
    def setup(self):
        print("loading weights")
        while not os.path.exists(os.environ["SETUP_GATE"]):
            time.sleep(0.01)

    def predict(self, text: str = "ready") -> str:
        return text
`;

browserTest("the playground shows that the model is starting, then shows the form", async () => {
  const dir = await writeProject({
    "cog.yaml": 'build:\n  python_version: "3.11"\nrun: "predict.py:Predictor"\n',
    "predict.py": GATED_SETUP,
  });
  const gate = `${dir}/setup.gate`;
  try {
    await withPage(
      { dir, waitSetup: false, env: { SETUP_GATE: gate } },
      async ({ page, server }) => {
        await page.goto(server.url);
        await page.waitForSelector('#health[data-status="STARTING"]');
        assertMatch(await page.textContent("#notice") ?? "", /starting/);
        assert(await page.isHidden("#form"), "no form before the schema exists");
        await Deno.writeTextFile(gate, "");
        await page.waitForSelector("#field-text");
        await page.waitForSelector('#health[data-status="READY"]');
        assert(await page.isHidden("#notice"));
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

browserTest("the playground cancels a running prediction", async () => {
  await withPage("slow", async ({ page, server }) => {
    await page.goto(server.url);
    await page.waitForSelector("#field-seconds");
    await page.fill("#field-seconds", "60");
    await page.click("#run");
    await page.waitForSelector("#cancel:not([disabled])");
    // Wait until predict() is really running (it printed), so Cancel interrupts it.
    const service = server.server.service;
    await waitFor(
      () => {
        const id = service.inFlight[0];
        return id !== undefined && /sleeping/.test(service.get(id)?.toResponse().logs ?? "");
      },
      20_000,
      "predict() to start",
    );
    await page.click("#cancel");
    await status(page, "canceled");
    assert(await page.isEnabled("#run"), "Run is enabled again after the cancel");
    assertMatch(await page.textContent("#logs") ?? "", /sleeping 60/);
  });
});

browserTest("/docs documents the inputs and endpoints and can try a request", async () => {
  await withPage("typed", async ({ page, server }) => {
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('#input-table-Input tr[data-input="count"]');
    const row = async (name: string) =>
      await page.$$eval(
        `#input-table-Input tr[data-input="${name}"] td`,
        (cells) => cells.map((cell) => cell.textContent ?? ""),
      );
    const count = await row("count");
    assertEquals(count.slice(0, 4), ["count", "integer", "no", "5"]);
    assertMatch(count[4], /1 ≤ x ≤ 10/);
    assertMatch((await row("mode"))[4], /one of "fast", "slow"/);
    assertMatch((await row("text"))[4], /Some text/);
    const endpoints = await page.$$eval(
      "[data-endpoint]",
      (nodes) => nodes.map((node) => node.getAttribute("data-endpoint")),
    );
    for (
      const endpoint of [
        "POST /predictions",
        "POST /predictions/{prediction_id}/cancel",
        "GET /health-check",
      ]
    ) {
      assert(endpoints.includes(endpoint), `${endpoint} is documented`);
    }

    const predict = page.locator('[data-endpoint="POST /predictions"]');
    await predict.locator("summary").click();
    const body = JSON.parse(await predict.locator("textarea").inputValue());
    assertEquals(body.input.mode, "fast");
    await predict.locator("textarea").fill(JSON.stringify({ input: { text: "from docs" } }));
    await predict.locator("button", { hasText: "Send POST" }).click();
    await predict.locator("[data-result]", { hasText: /HTTP 200/ }).waitFor();
    const result = await predict.locator("[data-result]").textContent() ?? "";
    assertMatch(result, /"status": "succeeded"/);
    assertMatch(result, /"text": "from docs"/);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "_docs.png"), fullPage: true });
  });
});

browserTest("the pages make no request to any host but the server", async () => {
  await withPage("files_out", async ({ page, server, requests }) => {
    await page.goto(server.url);
    await page.click("#run");
    await status(page, "succeeded");
    assert(await imageWidth(page) > 0, "the image loaded");
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector("#input-table-Input");
    await page.locator('[data-endpoint="GET /health-check"] summary').click();
    await page.locator('[data-endpoint="GET /health-check"] button').click();
    await page.waitForSelector('[data-endpoint="GET /health-check"] [data-result]:not(.hidden)');
    const paths = new Set(
      requests.filter((url) => url.startsWith("http")).map((url) => new URL(url).pathname),
    );
    for (
      const path of [
        "/",
        "/_cog/ui.css",
        "/_cog/lib.js",
        "/_cog/dom.js",
        "/_cog/form.js",
        "/_cog/output.js",
        "/_cog/playground.js",
        "/_cog/docs.js",
      ]
    ) {
      assert(paths.has(path), `the page loaded ${path}`);
    }
    for (const path of ["/openapi.json", "/health-check", "/predictions", "/docs"]) {
      assert(paths.has(path), `the page requested ${path}`);
    }
    assertOnlyServer(requests, server.url); // withPage checks again after fn
  });
});
