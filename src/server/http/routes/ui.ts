// Browser routes: the playground at GET / (only for clients that prefer HTML;
// API clients keep the JSON discovery document), /docs, and their embedded
// assets under /_cog/. Everything is same-origin under a strict CSP.

import type { OpenAPIHono } from "@hono/zod-openapi";
import { DOCS_HTML, PLAYGROUND_HTML, UI_ASSETS } from "../ui/mod.ts";

/** The Content-Security-Policy of the UI pages: nothing but this server (outputs may be remote). */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' data: blob: http: https:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join("; ");

function uiResponse(body: string, type: string): Response {
  return new Response(body, {
    headers: {
      "content-type": type,
      "content-security-policy": UI_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
  });
}

/**
 * True when an Accept header asks for HTML more than JSON (a browser
 * navigating to the page). No header, wildcards and ties go to JSON.
 */
export function prefersHtml(accept: string | null | undefined): boolean {
  let html = 0;
  let json = 0;
  for (const part of (accept ?? "").split(",")) {
    const [type, ...params] = part.split(";").map((piece) => piece.trim().toLowerCase());
    let q = 1;
    for (const param of params) {
      if (param.startsWith("q=")) {
        const value = Number(param.slice(2));
        q = Number.isFinite(value) ? value : 0;
      }
    }
    if (type === "text/html" || type === "application/xhtml+xml") html = Math.max(html, q);
    else if (type === "application/json") json = Math.max(json, q);
  }
  return html > 0 && html > json;
}

/** Registers GET / (HTML for browsers), /docs and /_cog/* assets; call before the JSON routes. */
export function registerUiRoutes(app: OpenAPIHono): void {
  app.get("/", async (c, next) => {
    if (prefersHtml(c.req.header("accept"))) {
      const response = uiResponse(PLAYGROUND_HTML, "text/html; charset=utf-8");
      response.headers.set("vary", "Accept");
      return response;
    }
    await next();
    c.res.headers.append("vary", "Accept");
  });
  app.get("/docs", () => uiResponse(DOCS_HTML, "text/html; charset=utf-8"));
  for (const [path, asset] of Object.entries(UI_ASSETS)) {
    app.get(path, () => uiResponse(asset.body, asset.type));
  }
}
