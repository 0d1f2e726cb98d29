// The playground's browser script (vanilla JS, runs after lib.js). It waits
// for the model to be ready, builds one form field per input from
// /openapi.json, runs predictions (SSE for @streaming models, else a sync POST
// with a client-chosen id so Cancel can address it) and renders the result.
// Kept as a string: it targets the DOM, which the server's type-check does not.

/** JavaScript served at /_cog/playground.js. */
export const PLAYGROUND_JS = String.raw`(function () {
"use strict";

var state = { doc: null, fields: [], streaming: false, concat: false, run: null, curl: "" };
var timerHandle = null;


async function getJson(path) {
  try {
    var response = await fetch(path, { headers: { accept: "application/json" } });
    var body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, body: body };
  } catch (error) {
    return { status: 0, body: null, error: error };
  }
}

// ---- health and schema ----------------------------------------------------

function showHealth(report) {
  var badge = $("health");
  var status = report && report.status ? report.status : "UNREACHABLE";
  badge.textContent = status.toLowerCase().replace("_", " ");
  badge.className = "badge " + status;
  badge.setAttribute("data-status", status);
}

async function refreshHealth() {
  var health = await getJson("health-check");
  showHealth(health.body);
  return health.body;
}

async function boot() {
  $("form").addEventListener("submit", function (event) { event.preventDefault(); run(); });
  $("cancel").addEventListener("click", cancel);
  $("reset").addEventListener("click", function () { buildForm(); updateCurl(); });
  $("copy-curl").addEventListener("click", copyCurl);
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && state.doc) run();
  });
  var delay = 500;
  for (;;) {
    var health = await refreshHealth();
    if (health && health.status === "SETUP_FAILED") {
      setNotice("The model's setup() failed, so it cannot run predictions. Setup logs:");
      var setupLogs = health.setup && health.setup.logs ? health.setup.logs : "(no logs)";
      $("setup-logs").textContent = setupLogs;
      $("setup-logs").classList.remove("hidden");
      return;
    }
    var schema = await getJson("openapi.json");
    if (schema.status === 200 && schema.body) {
      state.doc = schema.body;
      state.streaming = isStreamingModel(state.doc);
      state.concat = isConcatenateOutput(state.doc);
      $("notice").classList.add("hidden");
      $("form").classList.remove("hidden");
      var outputSchema = ((state.doc.components || {}).schemas || {}).Output;
      $("output-type").textContent = state.concat
        ? "text, token by token"
        : outputSchema ? typeLabel(state.doc, outputSchema) : "";
      $("input-hint").textContent = state.streaming ? "streams output over SSE" : "";
      buildForm();
      updateCurl();
      return;
    }
    setNotice(health && health.status === "STARTING"
      ? "The model is starting (running setup()). The form appears when it is ready…"
      : "Waiting for the model server (" + (health ? health.status : "unreachable") + ")…");
    await sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
  }
}

function setNotice(text) {
  $("notice").textContent = text;
  $("notice").classList.remove("hidden");
}

// ---- the form -------------------------------------------------------------

function buildForm() {
  state.fields = inputFields(state.doc);
  var container = $("fields");
  container.textContent = "";
  if (state.fields.length === 0) {
    container.appendChild(el("p", { class: "notice", text: "This model takes no inputs." }));
  }
  state.fields.forEach(function (field) { container.appendChild(fieldElement(field)); });
}

function fieldElement(field) {
  var id = "field-" + field.name;
  var wrapper = el("div", { class: "field", "data-field": field.name, "data-kind": field.kind });
  wrapper.appendChild(el("label", { class: "name", for: id }, [
    el("code", { text: field.name }),
    el("span", { class: "type", text: field.typeLabel }),
    field.required && !field.hasDefault ? el("span", { class: "req", text: "required" }) : null,
  ]));
  if (field.description) wrapper.appendChild(el("div", { class: "desc", text: field.description }));
  wrapper.appendChild(control(field, id));
  var meta = [];
  if (field.hasDefault) {
    meta.push("default: " + (typeof field.default === "string" ? JSON.stringify(field.default)
      : JSON.stringify(field.default)));
  }
  var constraints = constraintText(field);
  if (constraints) meta.push(constraints);
  if (field.kind === "file") meta.push("upload a file (sent as a data URL) or paste a URL");
  if (field.kind === "files") meta.push("upload files and/or paste URLs, one per line");
  if (field.kind === "lines") meta.push("one item per line");
  if (field.kind === "json") meta.push("JSON value");
  if (meta.length) wrapper.appendChild(el("div", { class: "meta", text: meta.join(" · ") }));
  wrapper.appendChild(el("div", { class: "error hidden" }));
  return wrapper;
}

function control(field, id) {
  var initial = defaultText(field);
  var common = { id: id, name: field.name, "data-name": field.name };
  var input;
  switch (field.kind) {
    case "select": {
      input = el("select", common);
      if (!field.hasDefault || field.default === null) {
        input.appendChild(el("option", { value: "", text: field.required ? "Choose…" : "(none)" }));
      }
      (field.choices || []).forEach(function (choice) {
        var option = el("option", { value: String(choice), text: String(choice) });
        if (field.hasDefault && String(field.default) === String(choice)) option.selected = true;
        input.appendChild(option);
      });
      input.addEventListener("change", updateCurl);
      return input;
    }
    case "boolean": {
      input = el("input", Object.assign({ type: "checkbox" }, common));
      input.checked = field.default === true;
      var text = el("span", { class: "type", text: String(input.checked) });
      input.addEventListener("change", function () {
        text.textContent = String(input.checked);
        updateCurl();
      });
      return el("div", { class: "check-row" }, [input, text]);
    }
    case "integer":
    case "number": {
      var low = field.minimum !== null ? field.minimum : field.exclusiveMinimum;
      var high = field.maximum !== null ? field.maximum : field.exclusiveMaximum;
      var step = field.kind === "integer" ? "1" : "any";
      input = el("input", Object.assign({ type: "number", step: step, min: low, max: high }, common));
      input.value = initial;
      input.addEventListener("input", updateCurl);
      if (low === null || high === null) return input;
      var rangeStep = field.kind === "integer" ? 1 : (high - low) / 100 || 0.01;
      var range = el("input", {
        type: "range", min: low, max: high, step: rangeStep, "aria-label": field.name + " slider",
        tabindex: "-1",
      });
      range.value = initial === "" ? String(low) : initial;
      range.addEventListener("input", function () {
        input.value = field.kind === "integer" ? range.value : String(Number(range.value));
        updateCurl();
      });
      input.addEventListener("input", function () { if (input.value !== "") range.value = input.value; });
      return el("div", { class: "range-row" }, [range, input]);
    }
    case "secret": {
      input = el("input", Object.assign({ type: "password", autocomplete: "off" }, common));
      input.value = initial;
      input.addEventListener("input", updateCurl);
      return input;
    }
    case "file":
    case "files": {
      var many = field.kind === "files";
      var picker = el("input", { type: "file", id: id, "data-name": field.name, multiple: many });
      var url = many
        ? el("textarea", { rows: 2, placeholder: "https://… (one per line)", "data-url-for": field.name })
        : el("input", { type: "url", placeholder: "or paste a URL: https://…", "data-url-for": field.name });
      url.value = initial;
      var preview = el("div", { class: "preview" });
      picker.addEventListener("change", function () {
        preview.textContent = "";
        Array.prototype.forEach.call(picker.files || [], function (file) {
          if (file.type.indexOf("image/") === 0) {
            var image = el("img", { alt: file.name });
            var reader = new FileReader();
            reader.onload = function () { image.src = reader.result; };
            reader.readAsDataURL(file);
            preview.appendChild(image);
          } else {
            preview.appendChild(el("div", { class: "meta", text: file.name + " (" + file.size + " bytes)" }));
          }
        });
        updateCurl();
      });
      url.addEventListener("input", updateCurl);
      return el("div", { class: "file-row" }, [picker, url, preview]);
    }
    default: {
      var rows = field.kind === "json" || field.kind === "lines" ? 4
        : Math.min(8, Math.max(1, Math.ceil(initial.length / 60), initial.split("\n").length));
      input = el("textarea", Object.assign({
        rows: rows, minlength: field.minLength, maxlength: field.maxLength,
        spellcheck: field.kind === "text" ? "true" : "false",
      }, common));
      input.value = initial;
      input.addEventListener("input", updateCurl);
      return input;
    }
  }
}

function readDataUrl(file) {
  return new Promise(function (resolve, reject) {
    var reader = new FileReader();
    reader.onload = function () { resolve(reader.result); };
    reader.onerror = function () { reject(reader.error || new Error("could not read " + file.name)); };
    reader.readAsDataURL(file);
  });
}

/** Reads the form into {input, errors}; files become data URLs unless preview is true. */
async function collectInput(preview) {
  var input = {};
  var errors = {};
  for (var i = 0; i < state.fields.length; i++) {
    var field = state.fields[i];
    var result;
    if (field.kind === "file" || field.kind === "files") {
      var picker = document.querySelector('input[type=file][data-name="' + CSS.escape(field.name) + '"]');
      var urlBox = document.querySelector('[data-url-for="' + CSS.escape(field.name) + '"]');
      var files = Array.prototype.slice.call(picker.files || []);
      var urls = [];
      for (var j = 0; j < files.length; j++) {
        urls.push(preview ? "data:" + (files[j].type || "application/octet-stream") +
          ";base64,…[" + files[j].name + "]" : await readDataUrl(files[j]));
      }
      result = parseFieldValue(field, urlBox.value);
      if (field.kind === "file" && urls.length) result = { ok: true, omit: false, value: urls[0] };
      if (field.kind === "files" && urls.length) {
        result = { ok: true, omit: false, value: urls.concat(result.ok && !result.omit ? result.value : []) };
      }
    } else {
      var node = document.querySelector('[data-name="' + CSS.escape(field.name) + '"]');
      result = parseFieldValue(field, field.kind === "boolean" ? node.checked : node.value);
    }
    if (!result.ok) errors[field.name] = result.error;
    else if (!result.omit) input[field.name] = result.value;
  }
  return { input: input, errors: errors };
}

function showFieldErrors(errors) {
  document.querySelectorAll(".field").forEach(function (wrapper) {
    var message = errors[wrapper.getAttribute("data-field")];
    var box = wrapper.querySelector(".error");
    wrapper.classList.toggle("invalid", Boolean(message));
    box.textContent = message || "";
    box.classList.toggle("hidden", !message);
  });
}

async function updateCurl() {
  if (!state.doc) return;
  var collected = await collectInput(true);
  state.curl = curlCommand(baseUrl(), { input: collected.input }, { streaming: state.streaming });
  if (!state.run) $("curl").textContent = state.curl;
}

function copyCurl() {
  var text = state.curl;
  var done = function () {
    $("copy-curl").textContent = "Copied";
    setTimeout(function () { $("copy-curl").textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () {});
    return;
  }
  var area = el("textarea", {});
  area.value = text;
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); done(); } catch (_) { /* nothing to do */ }
  area.remove();
}

// ---- running a prediction -------------------------------------------------

function setStatus(status) {
  var badge = $("status");
  badge.textContent = status;
  badge.className = "badge " + status;
  badge.setAttribute("data-status", status);
}

function setRunning(running) {
  $("run").disabled = running;
  $("cancel").disabled = !running;
  $("run").textContent = running ? "Running…" : "Run";
}

function startTimer(run) {
  stopTimer();
  timerHandle = setInterval(function () {
    $("timing").textContent = "elapsed " + formatSeconds((performance.now() - run.started) / 1000);
  }, 100);
}

function stopTimer() {
  if (timerHandle !== null) clearInterval(timerHandle);
  timerHandle = null;
}

function showError(text) {
  var box = $("error");
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
  var collected = await collectInput(false);
  showFieldErrors(collected.errors);
  if (Object.keys(collected.errors).length) {
    showError("Please fix the highlighted inputs.");
    return;
  }
  var current = { id: newPredictionId(), started: performance.now(), canceled: false,
    controller: new AbortController(), streamed: false };
  state.run = current;
  resetOutput();
  setRunning(true);
  setStatus("starting");
  $("pid").textContent = current.id;
  var display = shortenDataUrls({ input: collected.input });
  state.curl = curlCommand(baseUrl(), { input: collected.input }, { streaming: state.streaming });
  $("curl").textContent = curlCommand(baseUrl(), display, { streaming: state.streaming });
  startTimer(current);
  var body = JSON.stringify({ id: current.id, input: collected.input });
  try {
    if (state.streaming) await runStream(current, body);
    else await runSync(current, body);
  } catch (error) {
    if (current.canceled) setStatus("canceled");
    else {
      setStatus("failed");
      showError("The request failed: " + (error && error.message ? error.message : error));
    }
  } finally {
    stopTimer();
    if ($("timing").textContent.indexOf("predict") < 0) {
      $("timing").textContent = "total " + formatSeconds((performance.now() - current.started) / 1000);
    }
    state.run = null;
    setRunning(false);
    refreshHealth();
  }
}

async function refused(response) {
  var text = await response.text();
  var body = null;
  try { body = JSON.parse(text); } catch (_) { body = null; }
  if (response.status === 422 && body && Array.isArray(body.detail)) {
    var errors = {};
    var general = [];
    body.detail.forEach(function (item) {
      var loc = item.loc || [];
      var name = loc[0] === "body" && loc[1] === "input" ? loc[2] : null;
      if (name !== null && name !== undefined) errors[name] = item.msg;
      else general.push(loc.join(".") + ": " + item.msg);
    });
    showFieldErrors(errors);
    setStatus("invalid input");
    showError(general.length ? general.join("\n") : "The model rejected some inputs (see the form).");
  } else {
    setStatus("failed");
    showError("HTTP " + response.status + ": " + (body && (body.error || body.detail)
      ? (body.error || JSON.stringify(body.detail)) : text || response.statusText));
  }
  $("raw").textContent = text;
}

async function runSync(current, body) {
  var response = await fetch("predictions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body,
    signal: current.controller.signal,
  });
  if (response.status !== 200) return refused(response);
  setStatus("processing");
  finish(await response.json(), current);
}

async function runStream(current, body) {
  var response = await fetch("predictions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: body,
    signal: current.controller.signal,
  });
  if (response.status !== 200 || !response.body) return refused(response);
  var reader = response.body.getReader();
  var decoder = new TextDecoder();
  var buffer = "";
  var completed = false;
  for (;;) {
    var chunk = await reader.read();
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    var parsed = parseSse(buffer);
    buffer = parsed.rest;
    for (var i = 0; i < parsed.events.length; i++) {
      var event = parsed.events[i];
      var data = null;
      try { data = JSON.parse(event.data); } catch (_) { data = event.data; }
      if (event.event === "start") setStatus("processing");
      else if (event.event === "output") appendChunk(data.chunk, current);
      else if (event.event === "log") appendLog(data.data);
      else if (event.event === "error") showError(data && data.error ? data.error : String(data));
      else if (event.event === "completed") { completed = true; finish(data, current); }
    }
  }
  if (!completed) {
    setStatus(current.canceled ? "canceled" : "failed");
    if (!current.canceled) showError("The event stream ended before the prediction completed.");
  }
}

function appendLog(text) {
  var logs = $("logs");
  var atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
  logs.textContent += text;
  if (atBottom) logs.scrollTop = logs.scrollHeight;
}

function appendChunk(chunk, current) {
  var output = $("output");
  if (!current.streamed) {
    output.textContent = "";
    current.streamed = true;
  }
  if (state.concat && typeof chunk === "string") {
    var pre = output.querySelector("pre.text-output");
    if (!pre) pre = output.appendChild(el("pre", { class: "text-output", id: "stream-text" }));
    pre.appendChild(document.createTextNode(chunk));
    return;
  }
  output.appendChild(renderItem(chunk));
}

function finish(prediction, current) {
  setStatus(prediction.status || "unknown");
  var output = $("output");
  var value = prediction.output;
  if (!(current.streamed && state.concat && prediction.status === "succeeded")) {
    output.textContent = "";
    output.appendChild(renderOutput(value, prediction.status));
  }
  if (typeof prediction.logs === "string") $("logs").textContent = prediction.logs;
  showError(prediction.error ? String(prediction.error) : "");
  var metrics = prediction.metrics || {};
  var total = formatSeconds((performance.now() - current.started) / 1000);
  $("timing").textContent = typeof metrics.predict_time === "number"
    ? "predict_time " + formatSeconds(metrics.predict_time) + " · total " + total
    : "total " + total;
  $("raw").textContent = JSON.stringify(shortenDataUrls(prediction, 120), null, 2);
}

// ---- rendering outputs ----------------------------------------------------

function renderOutput(value, status) {
  if (value === null || value === undefined) {
    return el("div", { class: "empty", text: status === "succeeded" ? "(no output)" : "No output." });
  }
  if (Array.isArray(value)) {
    if (state.concat && value.every(function (item) { return typeof item === "string"; })) {
      return el("pre", { class: "text-output", id: "stream-text", text: value.join("") });
    }
    var files = value.length > 0 && value.every(function (item) {
      return typeof item === "string" && mediaKind(item) !== "text";
    });
    if (files) return el("div", {}, value.map(renderItem));
    return jsonBlock(value);
  }
  if (value && typeof value === "object") {
    var box = el("div", {}, [jsonBlock(value)]);
    Object.keys(value).forEach(function (key) {
      if (typeof value[key] === "string" && mediaKind(value[key]) !== "text") {
        var item = renderItem(value[key]);
        item.insertBefore(el("div", { class: "caption", text: key }), item.firstChild);
        box.appendChild(item);
      }
    });
    return box;
  }
  return renderItem(value);
}

function jsonBlock(value) {
  return el("pre", { class: "json", text: JSON.stringify(shortenDataUrls(value, 120), null, 2) });
}

function renderItem(value) {
  var kind = mediaKind(value);
  var item = el("div", { class: "item", "data-kind": kind });
  if (kind === "text") {
    if (typeof value === "string") item.appendChild(el("pre", { class: "text-output", text: value }));
    else item.appendChild(jsonBlock(value));
    return item;
  }
  var name = fileName(value);
  if (kind === "image") {
    var image = el("img", { src: value, alt: name });
    image.addEventListener("load", function () {
      if (image.naturalWidth < 128) image.classList.add("pixel");
    });
    item.appendChild(image);
  } else if (kind === "audio") {
    item.appendChild(el("audio", { src: value, controls: true }));
  } else if (kind === "video") {
    item.appendChild(el("video", { src: value, controls: true }));
  }
  item.appendChild(el("div", { class: "caption" }, [
    el("a", { href: value, download: name, text: kind === "file" ? "Download " + name : "Download" }),
  ]));
  return item;
}

function fileName(value) {
  if (value.indexOf("data:") === 0) {
    var mime = value.slice(5).split(/[;,]/)[0] || "application/octet-stream";
    return "output." + (mime.split("/")[1] || "bin").replace(/[^a-z0-9]/gi, "").slice(0, 8);
  }
  var path = value.split(/[?#]/)[0];
  return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1)) || "output";
}

async function cancel() {
  var current = state.run;
  if (!current) return;
  current.canceled = true;
  setStatus("canceling");
  $("cancel").disabled = true;
  for (var attempt = 0; attempt < 10 && state.run === current; attempt++) {
    var response = await fetch("predictions/" + encodeURIComponent(current.id) + "/cancel", {
      method: "POST",
    }).catch(function () { return null; });
    if (response && response.ok) return;
    // 404: the request has not reached the server yet (or already finished); retry briefly.
    await sleep(200);
  }
  if (state.run === current) current.controller.abort();
}

boot();
})();
`;
