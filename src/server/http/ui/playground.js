// @ts-check
/// <reference lib="dom" />
// The playground's script, served at /_cog/playground.js. It waits for the
// model to be ready, builds one form field per input from /openapi.json, runs
// predictions (SSE for @streaming models, else a sync POST with a
// client-chosen id so Cancel can address it) and renders the result.

import { $, baseUrl, el, getJson } from "./dom.js";
import { collectInput, fieldElement, showFieldErrors } from "./form.js";
import {
  curlCommand,
  errorMessage,
  formatSeconds,
  inputFields,
  isConcatenateOutput,
  isStreamingModel,
  newPredictionId,
  parseSse,
  shortenDataUrls,
  sleep,
  typeLabel,
} from "./lib.js";
import { renderItem, renderOutput } from "./output.js";

/** @typedef {import("./lib.js").Field} Field */
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
  for (const field of state.fields) container.appendChild(fieldElement(field, updateCurl));
}

async function updateCurl() {
  if (!state.doc) return;
  const collected = await collectInput(state.fields, true);
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
  const collected = await collectInput(state.fields, false);
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
    output.appendChild(renderOutput(value, prediction.status, state.concat));
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
