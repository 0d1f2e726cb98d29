// @ts-check
// Pure helpers shared by the playground and /docs pages: reading the model's
// OpenAPI schema into form fields, coercing form values, building the curl
// command, classifying outputs and parsing an SSE stream. An ES module served
// verbatim at /_cog/lib.js and imported as is by the Deno unit tests, so it
// touches no DOM: only its parameters and globals that browsers and Deno share.

/** @typedef {Record<string, unknown>} SchemaNode A JSON-ish schema node from the OpenAPI document. */

/**
 * How a field is edited in the form.
 * @typedef {"select" | "integer" | "number" | "boolean" | "file" | "files" | "secret" | "text" | "lines" | "json"} FieldKind
 */

/**
 * One model input as the form shows it.
 * @typedef {object} Field
 * @property {string} name
 * @property {string} title
 * @property {FieldKind} kind
 * @property {string} typeLabel The type as shown to a person: `integer`, `string (uri)`, `array<string>`.
 * @property {string} description
 * @property {boolean} required
 * @property {boolean} hasDefault
 * @property {unknown} default
 * @property {unknown[] | null} choices
 * @property {number | null} minimum
 * @property {number | null} maximum
 * @property {number | null} exclusiveMinimum
 * @property {number | null} exclusiveMaximum
 * @property {number | null} minLength
 * @property {number | null} maxLength
 * @property {string | null} pattern
 * @property {number} order
 */

/**
 * The result of reading one form value.
 * @typedef {{ ok: true; omit: true } | { ok: true; omit: false; value: unknown } | { ok: false; error: string }} FieldValue
 */

/**
 * One Server-Sent Event.
 * @typedef {object} SseEvent
 * @property {string} event
 * @property {string} data
 */

/** @typedef {"image" | "audio" | "video" | "file" | "text"} MediaKind What a string output shows as. */

/**
 * Narrows `value` to a plain record ({} for anything that is not an object).
 * @param {unknown} value
 * @returns {SchemaNode}
 */
function record(value) {
  return /** @type {SchemaNode} */ (value && typeof value === "object" ? value : {});
}

/**
 * Follows a local `$ref` (`#/components/schemas/X`), once per level, to the schema.
 * @param {SchemaNode} doc
 * @param {unknown} node
 * @returns {SchemaNode}
 */
export function resolveRef(doc, node) {
  let current = record(node);
  for (let depth = 0; depth < 16 && typeof current.$ref === "string"; depth++) {
    const parts = current.$ref.replace(/^#\//, "").split("/");
    /** @type {unknown} */
    let target = doc;
    for (const part of parts) {
      target = target && typeof target === "object"
        ? record(target)[decodeURIComponent(part)]
        : undefined;
    }
    current = record(target);
  }
  return current;
}

/**
 * Merges allOf/anyOf/oneOf wrappers (Pydantic's enum and Optional shapes) into one node.
 * @param {SchemaNode} doc
 * @param {unknown} node
 * @returns {SchemaNode}
 */
export function flattenSchema(doc, node) {
  const base = resolveRef(doc, node);
  /** @type {SchemaNode} */
  const merged = {};
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = base[key];
    if (!Array.isArray(list)) continue;
    const parts = list.map((part) => resolveRef(doc, part));
    const nonNull = parts.filter((part) => part.type !== "null");
    if (nonNull.length < parts.length) merged.nullable = true;
    // A union of several real types has no single editor; keep the first for allOf/Optional only.
    if (key === "allOf" || nonNull.length === 1) {
      for (const part of nonNull) Object.assign(merged, flattenSchema(doc, part));
    }
  }
  for (const [key, value] of Object.entries(base)) {
    if (key !== "allOf" && key !== "anyOf" && key !== "oneOf") merged[key] = value;
  }
  return merged;
}

/**
 * Describes a schema's type for a person: `integer`, `string (uri)`, `array<number>`.
 * @param {SchemaNode} doc
 * @param {unknown} node
 * @returns {string}
 */
export function typeLabel(doc, node) {
  const schema = flattenSchema(doc, node);
  if (Array.isArray(schema.enum)) {
    return (typeof schema.type === "string" ? schema.type : "enum") + " (choice)";
  }
  if (schema.type === "array") return "array<" + typeLabel(doc, schema.items) + ">";
  if (typeof schema.type !== "string") return "any";
  if (schema.format === "uri") return "file (uri)";
  if (schema["x-cog-secret"] === true || schema.format === "password") return "secret";
  return schema.type;
}

/**
 * A number from the schema, or null.
 * @param {unknown} value
 * @returns {number | null}
 */
function num(value) {
  return typeof value === "number" ? value : null;
}

/**
 * The model inputs of `schemaName` (default `Input`) as ordered form fields.
 * @param {SchemaNode} doc
 * @param {string} [schemaName]
 * @returns {Field[]}
 */
export function inputFields(doc, schemaName) {
  const schemas = record(record(doc.components).schemas);
  const input = resolveRef(doc, schemas[schemaName ?? "Input"]);
  const properties = record(input.properties);
  /** @type {unknown[]} */
  const required = Array.isArray(input.required) ? input.required : [];
  /** @type {Field[]} */
  const fields = [];
  let position = 0;
  for (const [name, raw] of Object.entries(properties)) {
    const schema = flattenSchema(doc, raw);
    const items = flattenSchema(doc, schema.items);
    /** @type {FieldKind} */
    let kind = "json";
    if (Array.isArray(schema.enum)) kind = "select";
    else if (schema.type === "boolean") kind = "boolean";
    else if (schema.type === "integer") kind = "integer";
    else if (schema.type === "number") kind = "number";
    else if (schema.type === "string" && schema.format === "uri") kind = "file";
    else if (schema["x-cog-secret"] === true || schema.format === "password") kind = "secret";
    else if (schema.type === "string") kind = "text";
    else if (schema.type === "array" && items.format === "uri") kind = "files";
    else if (schema.type === "array" && items.type === "string" && !Array.isArray(items.enum)) {
      kind = "lines";
    }
    const order = typeof schema["x-order"] === "number" ? schema["x-order"] : 1e6;
    fields.push({
      name,
      title: typeof schema.title === "string" ? schema.title : name,
      kind,
      typeLabel: typeLabel(doc, raw),
      description: typeof schema.description === "string" &&
          schema.description !== "An enumeration."
        ? schema.description
        : "",
      required: required.includes(name),
      hasDefault: Object.prototype.hasOwnProperty.call(schema, "default"),
      default: schema.default,
      choices: Array.isArray(schema.enum) ? schema.enum : null,
      minimum: num(schema.minimum),
      maximum: num(schema.maximum),
      exclusiveMinimum: num(schema.exclusiveMinimum),
      exclusiveMaximum: num(schema.exclusiveMaximum),
      minLength: num(schema.minLength),
      maxLength: num(schema.maxLength),
      pattern: typeof schema.pattern === "string" ? schema.pattern : null,
      order: order * 10000 + position++,
    });
  }
  return fields.sort((a, b) => a.order - b.order);
}

/**
 * Human-readable constraints of a field: `1 ≤ x ≤ 10`, `length 1–20`, `matches ^a+$`.
 * @param {Field} field
 * @returns {string}
 */
export function constraintText(field) {
  /** @type {string[]} */
  const parts = [];
  const low = field.minimum !== null
    ? field.minimum + " ≤ "
    : field.exclusiveMinimum !== null
    ? field.exclusiveMinimum + " < "
    : "";
  const high = field.maximum !== null
    ? " ≤ " + field.maximum
    : field.exclusiveMaximum !== null
    ? " < " + field.exclusiveMaximum
    : "";
  if (low || high) parts.push(low + "x" + high);
  if (field.minLength !== null && field.maxLength !== null) {
    parts.push("length " + field.minLength + "–" + field.maxLength);
  } else if (field.minLength !== null) parts.push("length ≥ " + field.minLength);
  else if (field.maxLength !== null) parts.push("length ≤ " + field.maxLength);
  if (field.pattern !== null) parts.push("matches " + field.pattern);
  return parts.join(", ");
}

/**
 * Reads one form value into the JSON the API expects. `raw` is the input's
 * string (or the checkbox state); an empty optional value is omitted so the
 * model's default applies.
 * @param {Field} field
 * @param {string | boolean} raw
 * @returns {FieldValue}
 */
export function parseFieldValue(field, raw) {
  if (field.kind === "boolean") return { ok: true, omit: false, value: raw === true };
  const text = typeof raw === "string" ? raw : String(raw);
  const blank = field.kind === "text" || field.kind === "secret" ? text === "" : text.trim() === "";
  if (blank) {
    if (field.required && !field.hasDefault) return { ok: false, error: "required" };
    return { ok: true, omit: true };
  }
  switch (field.kind) {
    case "integer":
    case "number": {
      const value = Number(text.trim());
      if (!Number.isFinite(value)) return { ok: false, error: "must be a number" };
      if (field.kind === "integer" && !Number.isInteger(value)) {
        return { ok: false, error: "must be a whole number" };
      }
      return { ok: true, omit: false, value };
    }
    case "select": {
      const match = (field.choices ?? []).find((choice) => String(choice) === text);
      return match === undefined
        ? { ok: false, error: "must be one of the choices" }
        : { ok: true, omit: false, value: match };
    }
    case "lines":
    case "files":
      return {
        ok: true,
        omit: false,
        value: text.split("\n").map((line) => line.trim()).filter((line) => line !== ""),
      };
    case "json":
      try {
        return { ok: true, omit: false, value: JSON.parse(text) };
      } catch (error) {
        return { ok: false, error: "invalid JSON: " + /** @type {Error} */ (error).message };
      }
    default:
      return { ok: true, omit: false, value: text };
  }
}

/**
 * The text a form control starts with for a field's default.
 * @param {Field} field
 * @returns {string}
 */
export function defaultText(field) {
  if (!field.hasDefault || field.default === null || field.default === undefined) return "";
  if (field.kind === "lines" || field.kind === "files") {
    return Array.isArray(field.default) ? field.default.map(String).join("\n") : "";
  }
  if (field.kind === "json") return JSON.stringify(field.default, null, 2);
  return String(field.default);
}

/**
 * An example input object for docs: defaults, else the first choice, else a typed placeholder.
 * @param {Field[]} fields
 * @returns {Record<string, unknown>}
 */
export function exampleInput(fields) {
  /** @type {Record<string, unknown>} */
  const example = {};
  for (const field of fields) {
    if (field.hasDefault && field.default !== null) example[field.name] = field.default;
    else if (field.choices && field.choices.length > 0) example[field.name] = field.choices[0];
    else if (!field.required) continue;
    else if (field.kind === "integer" || field.kind === "number") {
      example[field.name] = field.minimum ?? 0;
    } else if (field.kind === "boolean") example[field.name] = false;
    else if (field.kind === "file") example[field.name] = "https://example.com/input.png";
    else if (field.kind === "files") example[field.name] = ["https://example.com/input.png"];
    else if (field.kind === "lines") example[field.name] = ["text"];
    else if (field.kind === "json") example[field.name] = {};
    else example[field.name] = "text";
  }
  return example;
}

/**
 * Quotes a string for a POSIX shell.
 * @param {string} text
 * @returns {string}
 */
export function shellQuote(text) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
}

/**
 * The curl command equivalent to a playground request.
 * @param {string} baseUrl
 * @param {unknown} body
 * @param {{ streaming?: boolean; path?: string }} [options]
 * @returns {string}
 */
export function curlCommand(baseUrl, body, options) {
  const url = shellQuote(baseUrl + (options?.path ?? "/predictions"));
  const lines = [(options?.streaming ? "curl -sN -X POST " : "curl -s -X POST ") + url];
  lines.push("-H 'Content-Type: application/json'");
  if (options?.streaming) lines.push("-H 'Accept: text/event-stream'");
  lines.push("-d " + shellQuote(JSON.stringify(body)));
  return lines.join(" \\\n  ");
}

/**
 * A copy of `value` with long data: URLs shortened, for display only.
 * @param {unknown} value
 * @param {number} [keep]
 * @returns {unknown}
 */
export function shortenDataUrls(value, keep) {
  const limit = keep ?? 48;
  if (typeof value === "string") {
    return value.startsWith("data:") && value.length > limit + 16
      ? value.slice(0, limit) + "…[" + (value.length - limit) + " more chars]"
      : value;
  }
  if (Array.isArray(value)) return value.map((item) => shortenDataUrls(item, limit));
  if (value && typeof value === "object") {
    /** @type {Record<string, unknown>} */
    const copy = {};
    for (const [key, item] of Object.entries(value)) copy[key] = shortenDataUrls(item, limit);
    return copy;
  }
  return value;
}

/** @type {Record<string, string>} */
const MIME_BY_EXTENSION = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  bmp: "image/bmp",
  avif: "image/avif",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  flac: "audio/flac",
  m4a: "audio/mp4",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
};

/**
 * What a string output is: an image/audio/video/other file URL, or plain text.
 * @param {unknown} value
 * @returns {MediaKind}
 */
export function mediaKind(value) {
  if (typeof value !== "string") return "text";
  let mime = "";
  if (value.startsWith("data:")) {
    mime = value.slice(5, value.indexOf(",") >= 0 ? value.indexOf(",") : 5).split(";")[0];
  } else if (/^(https?|blob):\/\/?\S+$/.test(value)) {
    const path = value.split(/[?#]/)[0].toLowerCase();
    const ext = path.slice(path.lastIndexOf(".") + 1);
    // Object.hasOwn: an extension such as `.constructor` must not find Object.prototype's.
    mime = path.lastIndexOf(".") > path.lastIndexOf("/")
      ? Object.hasOwn(MIME_BY_EXTENSION, ext) ? MIME_BY_EXTENSION[ext] : "application/x"
      : "";
    if (!mime) return "file";
  } else {
    return "text";
  }
  if (mime.startsWith("image/")) return "image";
  if (mime.startsWith("audio/")) return "audio";
  if (mime.startsWith("video/")) return "video";
  return "file";
}

/**
 * True when the Output schema is a ConcatenateIterator (chunks join into one text).
 * @param {SchemaNode} doc
 * @returns {boolean}
 */
export function isConcatenateOutput(doc) {
  const schemas = record(record(doc.components).schemas);
  const output = resolveRef(doc, schemas.Output);
  return output["x-cog-array-display"] === "concatenate";
}

/**
 * True when POST /predictions accepts `Accept: text/event-stream` (an @streaming model).
 * @param {SchemaNode} doc
 * @returns {boolean}
 */
export function isStreamingModel(doc) {
  const post = record(record(record(doc.paths)["/predictions"]).post);
  return post["x-cog-streaming"] === true;
}

/**
 * Splits buffered SSE text into complete events plus the unfinished rest, so a
 * stream can be parsed chunk by chunk. Comments and blank keep-alives are skipped.
 * @param {string} buffer
 * @returns {{ events: SseEvent[]; rest: string }}
 */
export function parseSse(buffer) {
  const normalized = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalized.split("\n\n");
  const rest = blocks.pop() ?? "";
  /** @type {SseEvent[]} */
  const events = [];
  for (const block of blocks) {
    let event = "message";
    /** @type {string[]} */
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (name === "event") event = value;
      else if (name === "data") data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

/**
 * A random prediction id (works outside secure contexts, unlike crypto.randomUUID).
 * @returns {string}
 */
export function newPredictionId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "pg" + Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Seconds for display: `0.42s`, `12.3s`, `2m 05s`.
 * @param {number} seconds
 * @returns {string}
 */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 10) return seconds.toFixed(2) + "s";
  if (seconds < 60) return seconds.toFixed(1) + "s";
  const minutes = Math.floor(seconds / 60);
  return minutes + "m " + String(Math.floor(seconds % 60)).padStart(2, "0") + "s";
}

/**
 * The text to show for a caught error: its message, else the value itself.
 * @param {unknown} error
 * @returns {string}
 */
export function errorMessage(error) {
  const message = error && typeof error === "object"
    ? /** @type {{ message?: unknown }} */ (error).message
    : undefined;
  return String(message ? message : error);
}

/**
 * Resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
