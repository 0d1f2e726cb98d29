// Cross-site protection for the endpoints that change state (create, cancel,
// shutdown: every POST/PUT/DELETE/PATCH). A web page can make a browser send a
// "simple" cross-site POST (text/plain, no preflight) to a server on localhost;
// the browser labels it with an `Origin` header. A request whose Origin is not
// this server's own (the Host it was sent to) nor an allowed one is refused
// with 403 before anything runs. API clients send no Origin and are unaffected;
// the playground, served by this server, is same-origin.

/** Methods that never change state (not checked). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Options for {@linkcode createOriginCheck}. */
export interface OriginCheckOptions {
  /** Other origins allowed to drive the server (COG_ALLOWED_ORIGINS), e.g. `https://app.example.com`; `*` allows any. */
  allowedOrigins?: readonly string[];
}

/** Returns a 403 Response for a cross-site state-changing request, or null to go on. */
export type OriginCheck = (request: Request) => Response | null;

/**
 * Normalises an allowed origin (`https://App.example.com/` -> `https://app.example.com`);
 * throws a TypeError naming it when it is not an http(s) origin.
 */
export function normalizeOrigin(origin: string): string {
  if (origin === "*") return origin;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError(`"${origin}" is not an origin like https://example.com`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname.length > 1) {
    throw new TypeError(`"${origin}" is not an origin like https://example.com`);
  }
  return url.origin;
}

/**
 * Builds the check. Same origin means the Origin's host:port equals the Host
 * header (either scheme, so a TLS-terminating proxy that keeps Host works).
 *
 * @example
 * ```ts
 * const check = createOriginCheck({ allowedOrigins: ["https://app.example.com"] });
 * app.use(async (c, next) => check(c.req.raw) ?? await next());
 * ```
 */
export function createOriginCheck(options: OriginCheckOptions = {}): OriginCheck {
  const allowed = new Set((options.allowedOrigins ?? []).map(normalizeOrigin));
  const anyOrigin = allowed.has("*");
  return (request) => {
    if (anyOrigin || SAFE_METHODS.has(request.method)) return null;
    const origin = request.headers.get("origin");
    if (origin === null) {
      // Browsers send Origin on every cross-site POST; this catches one that did not.
      const site = request.headers.get("sec-fetch-site");
      if (site === "cross-site" || site === "same-site") {
        return refuse(request, `a ${site} request without an Origin header`);
      }
      return null;
    }
    if (allowed.has(origin) || isSameOrigin(origin, request.headers.get("host"))) return null;
    return refuse(request, `Origin ${JSON.stringify(origin.slice(0, 200))}`);
  };
}

function isSameOrigin(origin: string, host: string | null): boolean {
  if (host === null || origin === "null") return false;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

function refuse(request: Request, what: string): Response {
  const host = request.headers.get("host") ?? "this server";
  const detail = `Cross-origin request refused: ${what} is not this server's origin ` +
    `(http://${host.slice(0, 200)}). A web page cannot drive this server; ` +
    `to allow another origin, set COG_ALLOWED_ORIGINS.`;
  return new Response(JSON.stringify({ detail }), {
    status: 403,
    headers: { "content-type": "application/json" },
  });
}
