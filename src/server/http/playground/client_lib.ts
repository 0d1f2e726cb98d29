// Pure helpers shared by the playground and /docs pages: reading the model's
// OpenAPI schema into form fields, coercing form values, building the curl
// command, classifying outputs and parsing an SSE stream. They are written as
// typed, self-contained function declarations so they can be unit-tested here
// and also shipped to the browser verbatim (see CLIENT_LIB_JS): each one may
// only use its parameters, globals present in browsers, and the other helpers.

/** A JSON-ish schema node from the OpenAPI document. */
export type SchemaNode = Record<string, unknown>;

/** How a field is edited in the form. */
export type FieldKind =
  | "select"
  | "integer"
  | "number"
  | "boolean"
  | "file"
  | "files"
  | "secret"
  | "text"
  | "lines"
  | "json";

/** One model input as the form shows it. */
export interface Field {
  name: string;
  title: string;
  kind: FieldKind;
  /** The type as shown to a person: `integer`, `string (uri)`, `array<string>`. */
  typeLabel: string;
  description: string;
  required: boolean;
  hasDefault: boolean;
  default: unknown;
  choices: unknown[] | null;
  minimum: number | null;
  maximum: number | null;
  exclusiveMinimum: number | null;
  exclusiveMaximum: number | null;
  minLength: number | null;
  maxLength: number | null;
  pattern: string | null;
  order: number;
}

/** The result of reading one form value. */
export type FieldValue =
  | { ok: true; omit: true }
  | { ok: true; omit: false; value: unknown }
  | { ok: false; error: string };

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Follows a local `$ref` (`#/components/schemas/X`), once per level, to the schema. */
export function resolveRef(doc: SchemaNode, node: unknown): SchemaNode {
  let current = (node && typeof node === "object" ? node : {}) as SchemaNode;
  for (let depth = 0; depth < 16 && typeof current.$ref === "string"; depth++) {
    const parts = (current.$ref as string).replace(/^#\//, "").split("/");
    let target: unknown = doc;
    for (const part of parts) {
      target = target && typeof target === "object"
        ? (target as Record<string, unknown>)[decodeURIComponent(part)]
        : undefined;
    }
    current = (target && typeof target === "object" ? target : {}) as SchemaNode;
  }
  return current;
}

/** Merges allOf/anyOf/oneOf wrappers (Pydantic's enum and Optional shapes) into one node. */
export function flattenSchema(doc: SchemaNode, node: unknown): SchemaNode {
  const base = resolveRef(doc, node);
  const merged: SchemaNode = {};
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

/** Describes a schema's type for a person: `integer`, `string (uri)`, `array<number>`. */
export function typeLabel(doc: SchemaNode, node: unknown): string {
  const schema = flattenSchema(doc, node);
  if (Array.isArray(schema.enum)) {
    return (typeof schema.type === "string" ? schema.type : "enum") + " (choice)";
  }
  if (schema.type === "array") return "array<" + typeLabel(doc, schema.items) + ">";
  if (typeof schema.type !== "string") return "any";
  if (schema.format === "uri") return "file (uri)";
  if (schema["x-cog-secret"] === true || schema.format === "password") return "secret";
  return schema.type as string;
}

/** The model inputs of `schemaName` (default `Input`) as ordered form fields. */
export function inputFields(doc: SchemaNode, schemaName?: string): Field[] {
  const components = (doc.components ?? {}) as Record<string, unknown>;
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  const input = resolveRef(doc, schemas[schemaName ?? "Input"]);
  const properties = (input.properties ?? {}) as Record<string, unknown>;
  const required = Array.isArray(input.required) ? input.required as string[] : [];
  const fields: Field[] = [];
  let position = 0;
  for (const [name, raw] of Object.entries(properties)) {
    const schema = flattenSchema(doc, raw);
    const items = flattenSchema(doc, schema.items);
    const num = (value: unknown) => typeof value === "number" ? value : null;
    let kind: FieldKind = "json";
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
    const order = typeof schema["x-order"] === "number" ? schema["x-order"] as number : 1e6;
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
      choices: Array.isArray(schema.enum) ? schema.enum as unknown[] : null,
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

/** Human-readable constraints of a field: `1 ≤ x ≤ 10`, `length 1–20`, `matches ^a+$`. */
export function constraintText(field: Field): string {
  const parts: string[] = [];
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
 */
export function parseFieldValue(field: Field, raw: string | boolean): FieldValue {
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
        return { ok: false, error: "invalid JSON: " + (error as Error).message };
      }
    default:
      return { ok: true, omit: false, value: text };
  }
}

/** The text a form control starts with for a field's default. */
export function defaultText(field: Field): string {
  if (!field.hasDefault || field.default === null || field.default === undefined) return "";
  if (field.kind === "lines" || field.kind === "files") {
    return Array.isArray(field.default) ? field.default.map(String).join("\n") : "";
  }
  if (field.kind === "json") return JSON.stringify(field.default, null, 2);
  return String(field.default);
}

/** An example input object for docs: defaults, else the first choice, else a typed placeholder. */
export function exampleInput(fields: Field[]): Record<string, unknown> {
  const example: Record<string, unknown> = {};
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

/** Quotes a string for a POSIX shell. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
}

/** The curl command equivalent to a playground request. */
export function curlCommand(
  baseUrl: string,
  body: unknown,
  options?: { streaming?: boolean; path?: string },
): string {
  const url = shellQuote(baseUrl + (options?.path ?? "/predictions"));
  const lines = [(options?.streaming ? "curl -sN -X POST " : "curl -s -X POST ") + url];
  lines.push("-H 'Content-Type: application/json'");
  if (options?.streaming) lines.push("-H 'Accept: text/event-stream'");
  lines.push("-d " + shellQuote(JSON.stringify(body)));
  return lines.join(" \\\n  ");
}

/** A copy of `value` with long data: URLs shortened, for display only. */
export function shortenDataUrls(value: unknown, keep?: number): unknown {
  const limit = keep ?? 48;
  if (typeof value === "string") {
    return value.startsWith("data:") && value.length > limit + 16
      ? value.slice(0, limit) + "…[" + (value.length - limit) + " more chars]"
      : value;
  }
  if (Array.isArray(value)) return value.map((item) => shortenDataUrls(item, limit));
  if (value && typeof value === "object") {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = shortenDataUrls(item, limit);
    return copy;
  }
  return value;
}

/** What a string output is: an image/audio/video/other file URL, or plain text. */
export function mediaKind(value: unknown): "image" | "audio" | "video" | "file" | "text" {
  if (typeof value !== "string") return "text";
  let mime = "";
  if (value.startsWith("data:")) {
    mime = value.slice(5, value.indexOf(",") >= 0 ? value.indexOf(",") : 5).split(";")[0];
  } else if (/^(https?|blob):\/\/?\S+$/.test(value)) {
    const path = value.split(/[?#]/)[0].toLowerCase();
    const ext = path.slice(path.lastIndexOf(".") + 1);
    const byExt: Record<string, string> = {
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
    mime = path.lastIndexOf(".") > path.lastIndexOf("/") ? byExt[ext] ?? "application/x" : "";
    if (!mime) return "file";
  } else {
    return "text";
  }
  if (mime.startsWith("image/")) return "image";
  if (mime.startsWith("audio/")) return "audio";
  if (mime.startsWith("video/")) return "video";
  return "file";
}

/** True when the Output schema is a ConcatenateIterator (chunks join into one text). */
export function isConcatenateOutput(doc: SchemaNode): boolean {
  const components = (doc.components ?? {}) as Record<string, unknown>;
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  const output = resolveRef(doc, schemas.Output);
  return output["x-cog-array-display"] === "concatenate";
}

/** True when POST /predictions accepts `Accept: text/event-stream` (an @streaming model). */
export function isStreamingModel(doc: SchemaNode): boolean {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  return paths["/predictions"]?.post?.["x-cog-streaming"] === true;
}

/**
 * Splits buffered SSE text into complete events plus the unfinished rest, so a
 * stream can be parsed chunk by chunk. Comments and blank keep-alives are skipped.
 */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const normalized = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalized.split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: SseEvent[] = [];
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
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

/** A random prediction id (works outside secure contexts, unlike crypto.randomUUID). */
export function newPredictionId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "pg" + Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Seconds for display: `0.42s`, `12.3s`, `2m 05s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 10) return seconds.toFixed(2) + "s";
  if (seconds < 60) return seconds.toFixed(1) + "s";
  const minutes = Math.floor(seconds / 60);
  return minutes + "m " + String(Math.floor(seconds % 60)).padStart(2, "0") + "s";
}

const HELPERS = [
  resolveRef,
  flattenSchema,
  typeLabel,
  inputFields,
  constraintText,
  parseFieldValue,
  defaultText,
  exampleInput,
  shellQuote,
  curlCommand,
  shortenDataUrls,
  mediaKind,
  isConcatenateOutput,
  isStreamingModel,
  parseSse,
  newPredictionId,
  formatSeconds,
];

/** The helpers above as a browser script (function declarations in the global scope). */
/** DOM helpers both pages use (strings: they need `document`, which the type-check does not). */
const DOM_HELPERS_JS = String.raw`function $(id) { return document.getElementById(id); }

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
  }
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

function baseUrl() { return new URL(".", location.href).href.replace(/\/$/, ""); }
`;

/** The helpers as served at /_cog/lib.js, for the playground and /docs pages. */
export const CLIENT_LIB_JS: string = "// cog playground helpers (generated from client_lib.ts)\n" +
  '"use strict";\n' +
  HELPERS.map((helper) => helper.toString()).join("\n\n") + "\n\n" + DOM_HELPERS_JS;
