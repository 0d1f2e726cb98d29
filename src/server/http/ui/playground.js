// @ts-check
/// <reference lib="dom" />
// The playground's script, served at /_cog/playground.js. It waits for the
// model to be ready, builds one form field per input from /openapi.json, runs
// predictions (SSE for @streaming models, else a sync POST with a
// client-chosen id so Cancel can address it) and renders the result.

import { $, baseUrl, el, getJson } from "./dom.js";
import {
  constraintText,
  curlCommand,
  defaultText,
  errorMessage,
  formatSeconds,
  inputFields,
  isConcatenateOutput,
  isStreamingModel,
  mediaKind,
  newPredictionId,
  parseFieldValue,
  parseSse,
  shortenDataUrls,
  sleep,
  typeLabel,
} from "./lib.js";

/** @typedef {import("./lib.js").Field} Field */
/** @typedef {import("./lib.js").FieldValue} FieldValue */
/** @typedef {import("./lib.js").SchemaNode} SchemaNode */

/** @typedef {{ status?: string; setup?: { logs?: string } | null }} HealthReport */

/**
 * A prediction as the API answers it (only what the page reads).
 * @typedef {object} Prediction
 * @property {string} [status]
 * @property {unknown} [output]
 * @property {unknown} [logs]
 * @property {unknown} [error]
 * @property {{ predict_time?: unknown } | null} [metrics]
 */

/**
 * The prediction the page is running.
 * @typedef {object} Run
 * @property {string} id
 * @property {number} started
 * @property {boolean} canceled
 * @property {AbortController} controller
 * @property {boolean} streamed
 */

/**
 * @type {{
 *   doc: SchemaNode | null;
 *   fields: Field[];
 *   streaming: boolean;
 *   concat: boolean;
 *   run: Run | null;
 *   curl: string;
 * }}
 */
const state = { doc: null, fields: [], streaming: false, concat: false, run: null, curl: "" };
/** @type {ReturnType<typeof setInterval> | null} */
let timerHandle = null;

/**
 * @param {string} id
 * @returns {HTMLButtonElement}
 */
function button(id) {
  return /** @type {HTMLButtonElement} */ ($(id));
}

// ---- health and schema ----------------------------------------------------

/** @param {HealthReport | null} report */
function showHealth(report) {
  const badge = $("health");
  const status = report && report.status ? report.status : "UNREACHABLE";
  badge.textContent = status.toLowerCase().replace("_", " ");
  badge.className = "badge " + status;
  badge.setAttribute("data-status", status);
}

/** @returns {Promise<HealthReport | null>} */
async function refreshHealth() {
  const health = /** @type {HealthReport | null} */ ((await getJson("health-check")).body);
  showHealth(health);
  return health;
}

async function boot() {
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  $("cancel").addEventListener("click", cancel);
  $("reset").addEventListener("click", () => {
    buildForm();
    updateCurl();
  });
  $("copy-curl").addEventListener("click", copyCurl);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && state.doc) run();
  });
  let delay = 500;
  for (;;) {
    const health = await refreshHealth();
    if (health && health.status === "SETUP_FAILED") {
      setNotice("The model's setup() failed, so it cannot run predictions. Setup logs:");
      $("setup-logs").textContent = health.setup && health.setup.logs
        ? health.setup.logs
        : "(no logs)";
      $("setup-logs").classList.remove("hidden");
      return;
    }
    const schema = await getJson("openapi.json");
    if (schema.status === 200 && schema.body) {
      const doc = /** @type {SchemaNode} */ (schema.body);
      state.doc = doc;
      state.streaming = isStreamingModel(doc);
      state.concat = isConcatenateOutput(doc);
      $("notice").classList.add("hidden");
      $("form").classList.remove("hidden");
      const components = /** @type {{ schemas?: SchemaNode }} */ (doc.components || {});
      const outputSchema = (components.schemas || {}).Output;
      $("output-type").textContent = state.concat
        ? "text, token by token"
        : outputSchema
        ? typeLabel(doc, outputSchema)
        : "";
      $("input-hint").textContent = state.streaming ? "streams output over SSE" : "";
      buildForm();
      updateCurl();
      return;
    }
    setNotice(
      health && health.status === "STARTING"
        ? "The model is starting (running setup()). The form appears when it is ready…"
        : "Waiting for the model server (" + (health ? health.status : "unreachable") + ")…",
    );
    await sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
  }
}

/** @param {string} text */
function setNotice(text) {
  $("notice").textContent = text;
  $("notice").classList.remove("hidden");
}

// ---- the form -------------------------------------------------------------

function buildForm() {
  state.fields = state.doc ? inputFields(state.doc) : [];
  const container = $("fields");
  container.textContent = "";
  if (state.fields.length === 0) {
    container.appendChild(el("p", { class: "notice", text: "This model takes no inputs." }));
  }
  for (const field of state.fields) container.appendChild(fieldElement(field));
}

/**
 * @param {Field} field
 * @returns {HTMLElement}
 */
function fieldElement(field) {
  const id = "field-" + field.name;
  const wrapper = el("div", { class: "field", "data-field": field.name, "data-kind": field.kind });
  wrapper.appendChild(el("label", { class: "name", for: id }, [
    el("code", { text: field.name }),
    el("span", { class: "type", text: field.typeLabel }),
    field.required && !field.hasDefault ? el("span", { class: "req", text: "required" }) : null,
  ]));
  if (field.description) wrapper.appendChild(el("div", { class: "desc", text: field.description }));
  wrapper.appendChild(control(field, id));
  /** @type {string[]} */
  const meta = [];
  if (field.hasDefault) meta.push("default: " + JSON.stringify(field.default));
  const constraints = constraintText(field);
  if (constraints) meta.push(constraints);
  if (field.kind === "file") meta.push("upload a file (sent as a data URL) or paste a URL");
  if (field.kind === "files") meta.push("upload files and/or paste URLs, one per line");
  if (field.kind === "lines") meta.push("one item per line");
  if (field.kind === "json") meta.push("JSON value");
  if (meta.length) wrapper.appendChild(el("div", { class: "meta", text: meta.join(" · ") }));
  wrapper.appendChild(el("div", { class: "error hidden" }));
  return wrapper;
}

/**
 * The editor of one field: the element carrying `data-name` (or a row holding it).
 * @param {Field} field
 * @param {string} id
 * @returns {HTMLElement}
 */
function control(field, id) {
  const initial = defaultText(field);
  const common = { id, name: field.name, "data-name": field.name };
  switch (field.kind) {
    case "select": {
      const input = el("select", common);
      if (!field.hasDefault || field.default === null) {
        input.appendChild(el("option", { value: "", text: field.required ? "Choose…" : "(none)" }));
      }
      for (const choice of field.choices || []) {
        const option = el("option", { value: String(choice), text: String(choice) });
        if (field.hasDefault && String(field.default) === String(choice)) option.selected = true;
        input.appendChild(option);
      }
      input.addEventListener("change", updateCurl);
      return input;
    }
    case "boolean": {
      const input = el("input", { type: "checkbox", ...common });
      input.checked = field.default === true;
      const text = el("span", { class: "type", text: String(input.checked) });
      input.addEventListener("change", () => {
        text.textContent = String(input.checked);
        updateCurl();
      });
      return el("div", { class: "check-row" }, [input, text]);
    }
    case "integer":
    case "number": {
      const low = field.minimum !== null ? field.minimum : field.exclusiveMinimum;
      const high = field.maximum !== null ? field.maximum : field.exclusiveMaximum;
      const step = field.kind === "integer" ? "1" : "any";
      const input = el("input", { type: "number", step, min: low, max: high, ...common });
      input.value = initial;
      input.addEventListener("input", updateCurl);
      if (low === null || high === null) return input;
      const rangeStep = field.kind === "integer" ? 1 : (high - low) / 100 || 0.01;
      const range = el("input", {
        type: "range",
        min: low,
        max: high,
        step: rangeStep,
        "aria-label": field.name + " slider",
        tabindex: "-1",
      });
      range.value = initial === "" ? String(low) : initial;
      range.addEventListener("input", () => {
        input.value = field.kind === "integer" ? range.value : String(Number(range.value));
        updateCurl();
      });
      input.addEventListener("input", () => {
        if (input.value !== "") range.value = input.value;
      });
      return el("div", { class: "range-row" }, [range, input]);
    }
    case "secret": {
      const input = el("input", { type: "password", autocomplete: "off", ...common });
      input.value = initial;
      input.addEventListener("input", updateCurl);
      return input;
    }
    case "file":
    case "files": {
      const many = field.kind === "files";
      const picker = el("input", { type: "file", id, "data-name": field.name, multiple: many });
      const url = many
        ? el("textarea", {
          rows: 2,
          placeholder: "https://… (one per line)",
          "data-url-for": field.name,
        })
        : el("input", {
          type: "url",
          placeholder: "or paste a URL: https://…",
          "data-url-for": field.name,
        });
      url.value = initial;
      const preview = el("div", { class: "preview" });
      picker.addEventListener("change", () => {
        preview.textContent = "";
        for (const file of Array.from(picker.files || [])) {
          if (file.type.indexOf("image/") === 0) {
            const image = el("img", { alt: file.name });
            const reader = new FileReader();
            reader.onload = () => {
              image.src = /** @type {string} */ (reader.result);
            };
            reader.readAsDataURL(file);
            preview.appendChild(image);
          } else {
            preview.appendChild(
              el("div", { class: "meta", text: file.name + " (" + file.size + " bytes)" }),
            );
          }
        }
        updateCurl();
      });
      url.addEventListener("input", updateCurl);
      return el("div", { class: "file-row" }, [picker, url, preview]);
    }
    default: {
      const rows = field.kind === "json" || field.kind === "lines"
        ? 4
        : Math.min(8, Math.max(1, Math.ceil(initial.length / 60), initial.split("\n").length));
      const input = el("textarea", {
        rows,
        minlength: field.minLength,
        maxlength: field.maxLength,
        spellcheck: field.kind === "text" ? "true" : "false",
        ...common,
      });
      input.value = initial;
      input.addEventListener("input", updateCurl);
      return input;
    }
  }
}

/**
 * @param {File} file
 * @returns {Promise<string>}
 */
function readDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(/** @type {string} */ (reader.result));
    reader.onerror = () => reject(reader.error || new Error("could not read " + file.name));
    reader.readAsDataURL(file);
  });
}

/**
 * Reads the form into {input, errors}; files become data URLs unless preview is true.
 * @param {boolean} preview
 * @returns {Promise<{ input: Record<string, unknown>; errors: Record<string, unknown> }>}
 */
async function collectInput(preview) {
  /** @type {Record<string, unknown>} */
  const input = {};
  /** @type {Record<string, unknown>} */
  const errors = {};
  for (const field of state.fields) {
    /** @type {FieldValue} */
    let result;
    const name = CSS.escape(field.name);
    if (field.kind === "file" || field.kind === "files") {
      const picker = /** @type {HTMLInputElement} */ (
        document.querySelector('input[type=file][data-name="' + name + '"]')
      );
      const urlBox = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (
        document.querySelector('[data-url-for="' + name + '"]')
      );
      const files = Array.from(picker.files || []);
      /** @type {string[]} */
      const urls = [];
      for (const file of files) {
        urls.push(
          preview
            ? "data:" + (file.type || "application/octet-stream") + ";base64,…[" + file.name + "]"
            : await readDataUrl(file),
        );
      }
      result = parseFieldValue(field, urlBox.value);
      if (field.kind === "file" && urls.length) result = { ok: true, omit: false, value: urls[0] };
      if (field.kind === "files" && urls.length) {
        const typed = result.ok && !result.omit ? /** @type {string[]} */ (result.value) : [];
        result = { ok: true, omit: false, value: urls.concat(typed) };
      }
    } else {
      const node = /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */ (
        document.querySelector('[data-name="' + name + '"]')
      );
      result = parseFieldValue(
        field,
        field.kind === "boolean" ? /** @type {HTMLInputElement} */ (node).checked : node.value,
      );
    }
    if (!result.ok) errors[field.name] = result.error;
    else if (!result.omit) input[field.name] = result.value;
  }
  return { input, errors };
}

/** @param {Record<string, unknown>} errors */
function showFieldErrors(errors) {
  for (const wrapper of Array.from(document.querySelectorAll(".field"))) {
    const message = errors[String(wrapper.getAttribute("data-field"))];
    const box = /** @type {HTMLElement} */ (wrapper.querySelector(".error"));
    wrapper.classList.toggle("invalid", Boolean(message));
    box.textContent = message ? String(message) : "";
    box.classList.toggle("hidden", !message);
  }
}

async function updateCurl() {
  if (!state.doc) return;
  const collected = await collectInput(true);
  state.curl = curlCommand(baseUrl(), { input: collected.input }, { streaming: state.streaming });
  if (!state.run) $("curl").textContent = state.curl;
}

function copyCurl() {
  const text = state.curl;
  const done = () => {
    $("copy-curl").textContent = "Copied";
    setTimeout(() => {
      $("copy-curl").textContent = "Copy";
    }, 1500);
  };
  if (navigator.clipboard && globalThis.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => {});
    return;
  }
  const area = el("textarea", {});
  area.value = text;
  document.body.appendChild(area);
  area.select();
  try {
    // The fallback for plain-http pages, where the Clipboard API is not offered.
    document.execCommand("copy");
    done();
  } catch {
    // nothing to do
  }
  area.remove();
}

// ---- running a prediction -------------------------------------------------

/** @param {string} status */
function setStatus(status) {
  const badge = $("status");
  badge.textContent = status;
  badge.className = "badge " + status;
  badge.setAttribute("data-status", status);
}

/** @param {boolean} running */
function setRunning(running) {
  button("run").disabled = running;
  button("cancel").disabled = !running;
  button("run").textContent = running ? "Running…" : "Run";
}

/** @param {Run} current */
function startTimer(current) {
  stopTimer();
  timerHandle = setInterval(() => {
    $("timing").textContent = "elapsed " +
      formatSeconds((performance.now() - current.started) / 1000);
  }, 100);
}

function stopTimer() {
  if (timerHandle !== null) clearInterval(timerHandle);
  timerHandle = null;
}

/** @param {string} text */
function showError(text) {
  const box = $("error");
  box.textContent = text || "";
  box.classList.toggle("hidden", !text);
}

function resetOutput() {
  showError("");
  $("output").textContent = "";
  $("output").appendChild(el("div", { class: "empty", text: "Waiting for output…" }));
  $("logs").textContent = "";
  $("raw").textContent = "";
  $("timing").textContent = "";
}

async function run() {
  if (state.run || !state.doc) return;
  const collected = await collectInput(false);
  showFieldErrors(collected.errors);
  if (Object.keys(collected.errors).length) {
    showError("Please fix the highlighted inputs.");
    return;
  }
  /** @type {Run} */
  const current = {
    id: newPredictionId(),
    started: performance.now(),
    canceled: false,
    controller: new AbortController(),
    streamed: false,
  };
  state.run = current;
  resetOutput();
  setRunning(true);
  setStatus("starting");
  $("pid").textContent = current.id;
  const display = shortenDataUrls({ input: collected.input });
  state.curl = curlCommand(baseUrl(), { input: collected.input }, { streaming: state.streaming });
  $("curl").textContent = curlCommand(baseUrl(), display, { streaming: state.streaming });
  startTimer(current);
  const body = JSON.stringify({ id: current.id, input: collected.input });
  try {
    if (state.streaming) await runStream(current, body);
    else await runSync(current, body);
  } catch (error) {
    if (current.canceled) setStatus("canceled");
    else {
      setStatus("failed");
      showError("The request failed: " + errorMessage(error));
    }
  } finally {
    stopTimer();
    if (($("timing").textContent ?? "").indexOf("predict") < 0) {
      $("timing").textContent = "total " +
        formatSeconds((performance.now() - current.started) / 1000);
    }
    state.run = null;
    setRunning(false);
    refreshHealth();
  }
}

/**
 * Shows why the server refused a request: 422 details next to their fields, else the error.
 * @param {Response} response
 */
async function refused(response) {
  const text = await response.text();
  /** @type {{ detail?: unknown; error?: unknown } | null} */
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (response.status === 422 && body && Array.isArray(body.detail)) {
    /** @type {Record<string, unknown>} */
    const errors = {};
    /** @type {string[]} */
    const general = [];
    for (const item of /** @type {{ loc?: unknown[]; msg?: unknown }[]} */ (body.detail)) {
      const loc = item.loc || [];
      const name = loc[0] === "body" && loc[1] === "input" ? loc[2] : null;
      if (name !== null && name !== undefined) errors[String(name)] = item.msg;
      else general.push(loc.join(".") + ": " + item.msg);
    }
    showFieldErrors(errors);
    setStatus("invalid input");
    showError(
      general.length ? general.join("\n") : "The model rejected some inputs (see the form).",
    );
  } else {
    setStatus("failed");
    showError(
      "HTTP " + response.status + ": " +
        (body && (body.error || body.detail)
          ? (body.error || JSON.stringify(body.detail))
          : text || response.statusText),
    );
  }
  $("raw").textContent = text;
}

/**
 * @param {Run} current
 * @param {string} body
 */
async function runSync(current, body) {
  const response = await fetch("predictions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body,
    signal: current.controller.signal,
  });
  if (response.status !== 200) return refused(response);
  setStatus("processing");
  finish(await response.json(), current);
}

/**
 * @param {Run} current
 * @param {string} body
 */
async function runStream(current, body) {
  const response = await fetch("predictions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body,
    signal: current.controller.signal,
  });
  if (response.status !== 200 || !response.body) return refused(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let completed = false;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    const parsed = parseSse(buffer);
    buffer = parsed.rest;
    for (const event of parsed.events) {
      /** @type {unknown} */
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch {
        data = event.data;
      }
      // The event's JSON object (read like one even if it was not: those reads give undefined).
      const fields = /** @type {Record<string, unknown>} */ (data);
      if (event.event === "start") setStatus("processing");
      else if (event.event === "output") appendChunk(fields.chunk, current);
      else if (event.event === "log") appendLog(String(fields.data));
      else if (event.event === "error") {
        showError(data && fields.error ? String(fields.error) : String(data));
      } else if (event.event === "completed") {
        completed = true;
        finish(/** @type {Prediction} */ (data), current);
      }
    }
  }
  if (!completed) {
    setStatus(current.canceled ? "canceled" : "failed");
    if (!current.canceled) showError("The event stream ended before the prediction completed.");
  }
}

/** @param {string} text */
function appendLog(text) {
  const logs = $("logs");
  const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
  logs.textContent += text;
  if (atBottom) logs.scrollTop = logs.scrollHeight;
}

/**
 * @param {unknown} chunk
 * @param {Run} current
 */
function appendChunk(chunk, current) {
  const output = $("output");
  if (!current.streamed) {
    output.textContent = "";
    current.streamed = true;
  }
  if (state.concat && typeof chunk === "string") {
    let pre = output.querySelector("pre.text-output");
    if (!pre) pre = output.appendChild(el("pre", { class: "text-output", id: "stream-text" }));
    pre.appendChild(document.createTextNode(chunk));
    return;
  }
  output.appendChild(renderItem(chunk));
}

/**
 * @param {Prediction} prediction
 * @param {Run} current
 */
function finish(prediction, current) {
  setStatus(prediction.status || "unknown");
  const output = $("output");
  const value = prediction.output;
  if (!(current.streamed && state.concat && prediction.status === "succeeded")) {
    output.textContent = "";
    output.appendChild(renderOutput(value, prediction.status));
  }
  if (typeof prediction.logs === "string") $("logs").textContent = prediction.logs;
  showError(prediction.error ? String(prediction.error) : "");
  const metrics = prediction.metrics || {};
  const total = formatSeconds((performance.now() - current.started) / 1000);
  $("timing").textContent = typeof metrics.predict_time === "number"
    ? "predict_time " + formatSeconds(metrics.predict_time) + " · total " + total
    : "total " + total;
  $("raw").textContent = JSON.stringify(shortenDataUrls(prediction, 120), null, 2);
}

// ---- rendering outputs ----------------------------------------------------

/**
 * @param {unknown} value
 * @param {string | undefined} status
 * @returns {HTMLElement}
 */
function renderOutput(value, status) {
  if (value === null || value === undefined) {
    return el("div", {
      class: "empty",
      text: status === "succeeded" ? "(no output)" : "No output.",
    });
  }
  if (Array.isArray(value)) {
    if (state.concat && value.every((item) => typeof item === "string")) {
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
 * @param {unknown} value
 * @returns {HTMLElement}
 */
function renderItem(value) {
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

async function cancel() {
  const current = state.run;
  if (!current) return;
  current.canceled = true;
  setStatus("canceling");
  button("cancel").disabled = true;
  for (let attempt = 0; attempt < 10 && state.run === current; attempt++) {
    const response = await fetch("predictions/" + encodeURIComponent(current.id) + "/cancel", {
      method: "POST",
    }).catch(() => null);
    if (response && response.ok) return;
    // 404: the request has not reached the server yet (or already finished); retry briefly.
    await sleep(200);
  }
  if (state.run === current) current.controller.abort();
}

boot();
