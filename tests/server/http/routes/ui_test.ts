// GET / content negotiation (playground for browsers, discovery JSON for API
// clients), /docs, and the embedded assets with their types and CSP.

import { assert, assertEquals, assertMatch } from "../../../_assert.ts";
import { startFixture } from "../../../_helpers.ts";
import { prefersHtml, UI_CSP } from "../../../../src/server/http/routes/ui.ts";

const BROWSER_ACCEPT =
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

Deno.test("prefersHtml is true for browsers and false for API clients", () => {
  assert(prefersHtml(BROWSER_ACCEPT));
  assert(prefersHtml("text/html"));
  assert(!prefersHtml(null));
  assert(!prefersHtml(""));
  assert(!prefersHtml("*/*"));
  assert(!prefersHtml("application/json"));
  assert(!prefersHtml("application/json, text/html"), "a tie goes to JSON");
  assert(prefersHtml("application/json;q=0.5, text/html"));
  assert(!prefersHtml("text/html;q=0"));
});

Deno.test("GET / serves the discovery JSON to API clients and the playground to browsers", async () => {
  const server = await startFixture("echo");
  try {
    for (const accept of [undefined, "application/json", "*/*"]) {
      const response = await fetch(`${server.url}/`, {
        headers: accept ? { accept } : {},
      });
      assertEquals(response.status, 200);
      assertMatch(response.headers.get("content-type") ?? "", /^application\/json/);
      const body = await response.json();
      assertEquals(body.docs_url, "/docs");
      assertEquals(body.predictions_url, "/predictions");
    }
    for (const accept of ["text/html", BROWSER_ACCEPT]) {
      const response = await fetch(`${server.url}/`, { headers: { accept } });
      assertEquals(response.status, 200);
      assertMatch(response.headers.get("content-type") ?? "", /^text\/html/);
      assertEquals(response.headers.get("content-security-policy"), UI_CSP);
      assertMatch(response.headers.get("vary") ?? "", /Accept/);
      const html = await response.text();
      assertMatch(html, /<title>Cog playground<\/title>/);
      assert(!/https?:\/\//.test(html), "the page links nothing absolute");
    }
  } finally {
    await server.close();
  }
});

Deno.test("GET /docs and the /_cog assets are served with their content types", async () => {
  const server = await startFixture("echo");
  try {
    const expected: Record<string, RegExp> = {
      "/docs": /^text\/html/,
      "/_cog/ui.css": /^text\/css/,
      "/_cog/lib.js": /^text\/javascript/,
      "/_cog/dom.js": /^text\/javascript/,
      "/_cog/form.js": /^text\/javascript/,
      "/_cog/output.js": /^text\/javascript/,
      "/_cog/playground.js": /^text\/javascript/,
      "/_cog/docs.js": /^text\/javascript/,
    };
    for (const [path, type] of Object.entries(expected)) {
      const response = await fetch(`${server.url}${path}`);
      assertEquals(response.status, 200, path);
      assertMatch(response.headers.get("content-type") ?? "", type);
      assertEquals(response.headers.get("x-content-type-options"), "nosniff");
      const text = await response.text();
      // No external resources: no URL in the assets but this server's (relative) ones.
      const urls = [...text.matchAll(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\b/gi)].map((m) =>
        m[0]
      );
      assertEquals(urls.filter((url) => url !== "https://example.com"), [], path);
    }
    assertEquals(
      await fetch(`${server.url}/_cog/missing.js`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
      404,
    );
  } finally {
    await server.close();
  }
});

Deno.test("the /_cog assets are the files in src/server/http/ui, byte for byte", async () => {
  const server = await startFixture("echo");
  try {
    const dir = new URL("../../../../src/server/http/ui/", import.meta.url);
    const served: Record<string, string> = {
      "/": "playground.html",
      "/docs": "docs.html",
      "/_cog/ui.css": "ui.css",
      "/_cog/lib.js": "lib.js",
      "/_cog/dom.js": "dom.js",
      "/_cog/form.js": "form.js",
      "/_cog/output.js": "output.js",
      "/_cog/playground.js": "playground.js",
      "/_cog/docs.js": "docs.js",
    };
    for (const [path, file] of Object.entries(served)) {
      const response = await fetch(`${server.url}${path}`, { headers: { accept: "text/html" } });
      assertEquals(await response.text(), await Deno.readTextFile(new URL(file, dir)), path);
    }
  } finally {
    await server.close();
  }
});

Deno.test("everything the pages load, including each module's imports, is served", async () => {
  const server = await startFixture("echo");
  try {
    // What the HTML names (stylesheet, module preloads, scripts), then each script's imports,
    // resolved the way a browser resolves them: relative to the file that names them.
    const pending: URL[] = [];
    for (const page of ["/", "/docs"]) {
      const pageUrl = new URL(page, server.url);
      const html = await fetch(pageUrl, { headers: { accept: "text/html" } }).then((r) => r.text());
      const named = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      assert(named.includes("_cog/playground.js") || named.includes("_cog/docs.js"), page);
      for (const ref of named) {
        const url = new URL(ref, pageUrl);
        if (url.origin === pageUrl.origin && url.pathname.startsWith("/_cog/")) pending.push(url);
      }
      assertMatch(html, /<script type="module" src="_cog\/(playground|docs)\.js"><\/script>/);
    }
    const seen = new Set<string>();
    while (pending.length > 0) {
      const url = pending.pop()!;
      if (seen.has(url.pathname)) continue;
      seen.add(url.pathname);
      const response = await fetch(url);
      const text = await response.text();
      assertEquals(response.status, 200, `${url.pathname} is served`);
      if (!url.pathname.endsWith(".js")) continue;
      for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)) {
        assert(m[1].startsWith("./"), `${url.pathname} imports ${m[1]}: only sibling files`);
        pending.push(new URL(m[1], url));
      }
    }
    assertEquals(
      [...seen].sort(),
      [
        "/_cog/docs.js",
        "/_cog/dom.js",
        "/_cog/form.js",
        "/_cog/lib.js",
        "/_cog/output.js",
        "/_cog/playground.js",
        "/_cog/ui.css",
      ],
    );
  } finally {
    await server.close();
  }
});
