// @ts-check
/// <reference lib="dom" />
// How the playground shows outputs, served at /_cog/output.js: text, JSON,
// and files (data: or http URLs) inline as images, audio or video.

import { el } from "./dom.js";
import { mediaKind, shortenDataUrls } from "./lib.js";

/**
 * A prediction's whole output: text, a JSON block, or files shown inline with a download link.
 * @param {unknown} value
 * @param {string | undefined} status
 * @param {boolean} concat The model streams text chunks that join into one string.
 * @returns {HTMLElement}
 */
export function renderOutput(value, status, concat) {
  if (value === null || value === undefined) {
    return el("div", {
      class: "empty",
      text: status === "succeeded" ? "(no output)" : "No output.",
    });
  }
  if (Array.isArray(value)) {
    if (concat && value.every((item) => typeof item === "string")) {
      return el("pre", { class: "text-output", id: "stream-text", text: value.join("") });
    }
    const files = value.length > 0 &&
      value.every((item) => typeof item === "string" && mediaKind(item) !== "text");
    if (files) return el("div", {}, value.map((item) => renderItem(item)));
    return jsonBlock(value);
  }
  if (value && typeof value === "object") {
    const box = el("div", {}, [jsonBlock(value)]);
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string" && mediaKind(item) !== "text") {
        const rendered = renderItem(item);
        rendered.insertBefore(el("div", { class: "caption", text: key }), rendered.firstChild);
        box.appendChild(rendered);
      }
    }
    return box;
  }
  return renderItem(value);
}

/**
 * @param {unknown} value
 * @returns {HTMLElement}
 */
function jsonBlock(value) {
  return el("pre", { class: "json", text: JSON.stringify(shortenDataUrls(value, 120), null, 2) });
}

/**
 * One output value: an image, audio or video player, a download link, or text.
 * @param {unknown} value
 * @returns {HTMLElement}
 */
export function renderItem(value) {
  const kind = mediaKind(value);
  const item = el("div", { class: "item", "data-kind": kind });
  if (kind === "text") {
    if (typeof value === "string") {
      item.appendChild(el("pre", { class: "text-output", text: value }));
    } else item.appendChild(jsonBlock(value));
    return item;
  }
  // mediaKind only finds a file in a string.
  const url = /** @type {string} */ (value);
  const name = fileName(url);
  if (kind === "image") {
    const image = el("img", { src: url, alt: name });
    image.addEventListener("load", () => {
      if (image.naturalWidth < 128) image.classList.add("pixel");
    });
    item.appendChild(image);
  } else if (kind === "audio") {
    item.appendChild(el("audio", { src: url, controls: true }));
  } else if (kind === "video") {
    item.appendChild(el("video", { src: url, controls: true }));
  }
  item.appendChild(el("div", { class: "caption" }, [
    el("a", { href: url, download: name, text: kind === "file" ? "Download " + name : "Download" }),
  ]));
  return item;
}

/**
 * The name to download an output file as.
 * @param {string} value
 * @returns {string}
 */
function fileName(value) {
  if (value.indexOf("data:") === 0) {
    const mime = value.slice(5).split(/[;,]/)[0] || "application/octet-stream";
    return "output." + (mime.split("/")[1] || "bin").replace(/[^a-z0-9]/gi, "").slice(0, 8);
  }
  const path = value.split(/[?#]/)[0];
  const last = path.slice(path.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(last) || "output";
  } catch {
    return last; // a malformed %-escape: show the name as it is rather than fail the render
  }
}
