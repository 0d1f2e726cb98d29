// @ts-check
/// <reference lib="dom" />
// Page helpers shared by the playground and /docs scripts: finding and
// building elements, this server's base URL, and fetching JSON from it.
// Served at /_cog/dom.js.

/**
 * The element with this id; throws if the page has none (a bug in the page, not in the input).
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no element #${id}`);
  return node;
}

/** @typedef {string | number | boolean | null | undefined} AttributeValue */

/**
 * Creates an element. `attrs.text` sets its text and `attrs.class` its class;
 * other attributes are set as strings (`true` as a bare attribute) and null,
 * undefined or false ones are left out. String children become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttributeValue>} [attrs]
 * @param {Array<Node | string | null | undefined>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = String(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children ?? []) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * This server's base URL (the page's directory, so it works behind a path-prefixing proxy).
 * @returns {string}
 */
export function baseUrl() {
  return new URL(".", location.href).href.replace(/\/$/, "");
}

/**
 * GETs a JSON resource relative to the page: its status (0 if unreachable) and
 * parsed body (null if it was not JSON).
 * @param {string} path
 * @returns {Promise<{ status: number; body: unknown }>}
 */
export async function getJson(path) {
  try {
    const response = await fetch(path, { headers: { accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, body };
  } catch {
    return { status: 0, body: null };
  }
}
