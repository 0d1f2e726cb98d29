// Which HTTP proxy a request goes through: HTTP_PROXY / HTTPS_PROXY and NO_PROXY
// (upper or lower case), the variables Deno's own fetch honours for input
// downloads and webhooks. Uploads go through node:http, which ignores them, so they ask
// proxyFor() instead: the same rules for all three.

/** Proxy settings read from the environment. */
export interface ProxySettings {
  /** Proxy for http:// targets. */
  http: URL | null;
  /** Proxy for https:// targets. */
  https: URL | null;
  /** NO_PROXY entries, lower-cased (`*` means every host). */
  noProxy: string[];
}

/** No proxy at all. */
export const NO_PROXY_SETTINGS: ProxySettings = { http: null, https: null, noProxy: [] };

function variable(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name] ?? env[name.toLowerCase()];
  return value?.trim() || undefined;
}

function proxyUrl(value: string | undefined, name: string): URL | null {
  if (!value) return null;
  // Like curl and Deno, "host:port" without a scheme means an http:// proxy.
  const text = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${name} is not a valid proxy URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${name} must be an http:// or https:// proxy URL, got ${url.protocol}//`);
  }
  return url;
}

/** Reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY; throws Error on a malformed URL. */
export function proxySettingsFromEnv(env: Record<string, string | undefined>): ProxySettings {
  return {
    http: proxyUrl(variable(env, "HTTP_PROXY"), "HTTP_PROXY"),
    https: proxyUrl(variable(env, "HTTPS_PROXY"), "HTTPS_PROXY"),
    noProxy: (variable(env, "NO_PROXY") ?? "").toLowerCase().split(/[\s,]+/).filter(Boolean),
  };
}

/** The proxy for `target`, or null to connect directly. */
export function proxyFor(target: URL, settings: ProxySettings): URL | null {
  const proxy = target.protocol === "https:" ? settings.https : settings.http;
  if (!proxy || bypassed(target, settings.noProxy)) return null;
  return proxy;
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

/**
 * NO_PROXY matching: `*`; a host name matches itself and its subdomains (`example.com`
 * and `.example.com` both cover `a.example.com`); an IP matches itself; an IPv4 CIDR
 * (`10.0.0.0/8`) its range; `host:port` only that port.
 */
function bypassed(target: URL, entries: string[]): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  const port = defaultPort(target);
  for (const raw of entries) {
    if (raw === "*") return true;
    let entry = raw;
    let entryPort: string | null = null;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1];
      entryPort = bracketed[2] ?? null;
    } else if (/^[^:]+:\d+$/.test(entry)) {
      [entry, entryPort] = entry.split(":");
    }
    if (entryPort !== null && entryPort !== port) continue;
    if (entry.includes("/")) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    const name = entry.replace(/^\*?\./, "");
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

function ipv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const address = ipv4(host);
  const network = ipv4(base);
  if (address === null || network === null || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    return false;
  }
  const size = 2 ** (32 - bits);
  return Math.floor(address / size) === Math.floor(network / size);
}
