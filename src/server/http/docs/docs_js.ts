// The /docs browser script (vanilla JS, runs after lib.js): renders the
// model's inputs, output and endpoints from /openapi.json, each endpoint with
// example requests, a curl command and a "Try it" form that calls this server.

/** JavaScript served at /_cog/docs.js. */
export const DOCS_JS = String.raw`(function () {
"use strict";


function pretty(value) { return JSON.stringify(value, null, 2); }

// What the schema does not say about Cog's endpoints (Cog's own wording where it has one).
var NOTES = {
  "GET /": "The discovery document: links to the other endpoints. Browsers get the playground.",
  "GET /health-check": "The server's state: STARTING, READY, BUSY, SETUP_FAILED, DEFUNCT or " +
    "UNHEALTHY, with setup() timing and logs.",
  "GET /openapi.json": "This model's OpenAPI schema (503 until setup() has finished).",
  "POST /predictions": "Runs one prediction. By default the response waits for the result. " +
    "Send Prefer: respond-async to get 202 at once (results go to the webhook), or, for " +
    "@streaming models, Accept: text/event-stream for start/output/log/metric/completed events.",
  "PUT /predictions/{prediction_id}": "Like POST /predictions with an id you choose: " +
    "idempotent, so repeating it while the prediction runs returns its current state.",
  "POST /predictions/{prediction_id}/cancel": "Cancels a running prediction (404 if unknown).",
  "POST /trainings": "Runs one training; same options as POST /predictions.",
  "PUT /trainings/{training_id}": "Like POST /trainings with an id you choose.",
  "POST /trainings/{training_id}/cancel": "Cancels a running training.",
  "POST /shutdown": "Stops the server gracefully.",
};

async function getJson(path) {
  try {
    var response = await fetch(path, { headers: { accept: "application/json" } });
    var body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, body: body };
  } catch (_) {
    return { status: 0, body: null };
  }
}

async function boot() {
  var delay = 500;
  for (;;) {
    var health = await getJson("health-check");
    var status = health.body && health.body.status ? health.body.status : "UNREACHABLE";
    $("health").textContent = status.toLowerCase().replace("_", " ");
    $("health").className = "badge " + status;
    var schema = await getJson("openapi.json");
    if (schema.status === 200 && schema.body) return render(schema.body);
    $("notice").textContent = status === "SETUP_FAILED"
      ? "The model's setup() failed; its schema is unavailable. See /health-check for the logs."
      : "Waiting for the model to finish setup (" + status.toLowerCase() + ")…";
    if (status === "SETUP_FAILED") return;
    await sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
  }
}

function schemasOf(doc) { return (doc.components || {}).schemas || {}; }

function render(doc) {
  $("notice").classList.add("hidden");
  $("docs").classList.remove("hidden");
  var schemas = schemasOf(doc);
  var paths = doc.paths || {};
  var training = Boolean(paths["/trainings"]);
  var streaming = isStreamingModel(doc);
  var inputNames = Object.keys(schemas).filter(function (name) { return /Input$/.test(name); });
  if (inputNames.indexOf("Input") < 0 && schemas.Input) inputNames.unshift("Input");

  var overview = $("overview");
  overview.appendChild(el("h2", { text: (doc.info && doc.info.title || "Cog") + " model API" }));
  overview.appendChild(el("p", {}, [
    "Base URL ", el("code", { text: baseUrl() }), " · Cog " + (doc.info && doc.info.version || "?"),
    " · " + (streaming ? "streams output over Server-Sent Events" : "non-streaming"),
    training ? " · also trains" : "",
  ]));
  overview.appendChild(el("p", { class: "meta" }, [
    "Every request and response is JSON. Files are passed as URLs or data: URLs. ",
    "This page and the ", el("a", { href: "./", text: "playground" }),
    " are served by the model server itself and work offline.",
  ]));

  var inputs = $("inputs");
  inputNames.forEach(function (name) {
    if (inputNames.length > 1) inputs.appendChild(el("h3", { text: name }));
    inputs.appendChild(inputTable(doc, name));
  });

  var outputs = $("output-schema");
  var outputNames = Object.keys(schemas).filter(function (name) { return /Output$/.test(name); });
  outputNames.forEach(function (name) {
    var output = schemas[name];
    if (outputNames.length > 1) outputs.appendChild(el("h3", { text: name }));
    var display = output["x-cog-array-display"] === "concatenate"
      ? " — a text stream: the chunks join into one string"
      : output["x-cog-array-type"] === "iterator" ? " — yielded item by item" : "";
    outputs.appendChild(el("p", {}, [el("code", { text: typeLabel(doc, output) }), display]));
    if (output.properties) outputs.appendChild(propertyTable(doc, output));
  });

  var endpoints = $("endpoints");
  listEndpoints(doc).forEach(function (endpoint) { endpoints.appendChild(endpointElement(doc, endpoint)); });

  var all = $("schemas");
  Object.keys(schemas).forEach(function (name) {
    all.appendChild(el("details", { class: "endpoint", id: "schema-" + name }, [
      el("summary", {}, [el("span", { class: "path", text: name }),
        el("span", { class: "summary", text: typeLabel(doc, schemas[name]) })]),
      el("div", { class: "body" }, [el("pre", { class: "json", text: pretty(schemas[name]) })]),
    ]));
  });
}

function inputTable(doc, name) {
  var fields = inputFields(doc, name);
  if (fields.length === 0) return el("p", { class: "meta", text: "No inputs." });
  var rows = fields.map(function (field) {
    var notes = [];
    if (field.choices) notes.push("one of " + field.choices.map(function (c) { return JSON.stringify(c); }).join(", "));
    var constraints = constraintText(field);
    if (constraints) notes.push(constraints);
    return el("tr", { "data-input": field.name }, [
      el("td", {}, [el("code", { text: field.name })]),
      el("td", {}, [el("code", { text: field.typeLabel })]),
      el("td", { text: field.required && !field.hasDefault ? "yes" : "no" }),
      el("td", {}, [field.hasDefault ? el("code", { text: JSON.stringify(field.default) }) : ""]),
      el("td", {}, [
        field.description ? el("div", { text: field.description }) : null,
        notes.length ? el("div", { class: "meta", text: notes.join(" · ") }) : null,
      ]),
    ]);
  });
  return el("table", { class: "schema", id: "input-table-" + name }, [
    el("thead", {}, [el("tr", {}, ["Name", "Type", "Required", "Default", "Description"].map(function (h) {
      return el("th", { text: h });
    }))]),
    el("tbody", {}, rows),
  ]);
}

function propertyTable(doc, schema) {
  var required = schema.required || [];
  return el("table", { class: "schema" }, [
    el("thead", {}, [el("tr", {}, ["Field", "Type", "Always present"].map(function (h) {
      return el("th", { text: h });
    }))]),
    el("tbody", {}, Object.keys(schema.properties).map(function (key) {
      return el("tr", {}, [
        el("td", {}, [el("code", { text: key })]),
        el("td", {}, [el("code", { text: typeLabel(doc, schema.properties[key]) })]),
        el("td", { text: required.indexOf(key) >= 0 ? "yes" : "no" }),
      ]);
    })),
  ]);
}

function listEndpoints(doc) {
  var paths = doc.paths || {};
  var list = [];
  Object.keys(paths).forEach(function (path) {
    Object.keys(paths[path]).forEach(function (method) {
      list.push({ method: method.toUpperCase(), path: path, op: paths[path][method] });
    });
  });
  var extra = [["GET", "/openapi.json"], ["PUT", "/predictions/{prediction_id}"]];
  if (paths["/trainings"]) extra.push(["PUT", "/trainings/{training_id}"]);
  extra.push(["POST", "/shutdown"]);
  extra.forEach(function (pair) {
    var known = list.some(function (e) { return e.method === pair[0] && e.path === pair[1]; });
    if (!known) list.push({ method: pair[0], path: pair[1], op: {} });
  });
  var rank = function (e) {
    return (e.path.indexOf("/predictions") === 0 ? 0 : e.path.indexOf("/trainings") === 0 ? 1 : 2) * 10 +
      (e.path.length / 100);
  };
  return list.sort(function (a, b) { return rank(a) - rank(b); });
}

function bodyExample(doc, endpoint) {
  var inputName = endpoint.path.indexOf("/trainings") === 0 && schemasOf(doc).TrainingInput
    ? "TrainingInput" : "Input";
  if (endpoint.method === "GET" || /cancel$/.test(endpoint.path) || endpoint.path === "/shutdown") return null;
  return { input: exampleInput(inputFields(doc, inputName)) };
}

function endpointElement(doc, endpoint) {
  var key = endpoint.method + " " + endpoint.path;
  var op = endpoint.op || {};
  var example = bodyExample(doc, endpoint);
  var params = (endpoint.path.match(/\{[^}]+\}/g) || []).map(function (p) { return p.slice(1, -1); });
  var body = el("div", { class: "body" });
  var note = NOTES[key] || op.description || "";
  if (note) body.appendChild(el("p", { text: note }));
  if (params.length) {
    body.appendChild(el("h3", { text: "Path parameters" }));
    body.appendChild(el("p", {}, params.map(function (p) { return el("code", { text: p + " (string) " }); })));
  }
  if (example) {
    body.appendChild(el("h3", { text: "Request body" }));
    body.appendChild(el("p", { class: "meta" }, [
      "JSON with ", el("code", { text: "input" }), " (see Inputs) and optionally ",
      el("code", { text: "id" }), ", ", el("code", { text: "webhook" }), ", ",
      el("code", { text: "webhook_events_filter" }), ", ", el("code", { text: "context" }), ".",
    ]));
    body.appendChild(el("pre", { class: "json", text: pretty(example) }));
  }
  var responses = Object.keys(op.responses || {});
  if (responses.length) {
    body.appendChild(el("h3", { text: "Responses" }));
    body.appendChild(el("ul", {}, responses.map(function (code) {
      var response = op.responses[code];
      var content = response.content && response.content["application/json"];
      var ref = content && content.schema && content.schema.$ref ? content.schema.$ref.split("/").pop() : "";
      return el("li", {}, [el("code", { text: code }), " " + (response.description || ""),
        ref ? el("span", {}, [" — ", el("a", { href: "#schema-" + ref, text: ref })]) : null]);
    })));
  }
  var sample = endpoint.path.replace(/\{[^}]+\}/g, "my-id-1");
  var curl = "curl -s" + (endpoint.method === "GET" ? " " : " -X " + endpoint.method + " ") +
    shellQuote(baseUrl() + sample);
  if (example) curl = curlCommand(baseUrl(), example, { path: sample });
  if (example && endpoint.method === "PUT") curl = curl.replace("-X POST", "-X PUT");
  body.appendChild(el("h3", { text: "Example" }));
  body.appendChild(el("pre", { class: "block", text: curl }));
  if (example && endpoint.path === "/predictions" && isStreamingModel(doc)) {
    body.appendChild(el("p", { class: "meta", text: "Streaming:" }));
    body.appendChild(el("pre", { class: "block", text: curlCommand(baseUrl(), example, { streaming: true }) }));
  }
  if (endpoint.path !== "/shutdown") body.appendChild(tryIt(endpoint, params, example));
  return el("details", { class: "endpoint", "data-endpoint": key }, [
    el("summary", {}, [
      el("span", { class: "method " + endpoint.method.toLowerCase(), text: endpoint.method }),
      el("span", { class: "path", text: endpoint.path }),
      el("span", { class: "summary", text: op.summary || "" }),
    ]),
    body,
  ]);
}

function tryIt(endpoint, params, example) {
  var box = el("div", { class: "try" }, [el("h3", { text: "Try it" })]);
  var paramInputs = {};
  params.forEach(function (p) {
    var input = el("input", { type: "text", placeholder: p, "aria-label": p });
    paramInputs[p] = input;
    box.appendChild(el("div", { class: "field" }, [el("label", { class: "name" }, [el("code", { text: p })]), input]));
  });
  var editor = null;
  if (example) {
    editor = el("textarea", { rows: Math.min(16, pretty(example).split("\n").length + 1), "aria-label": "request body" });
    editor.value = pretty(example);
    box.appendChild(editor);
  }
  var result = el("pre", { class: "json hidden", "data-result": "" });
  var send = el("button", { type: "button", class: "primary", text: "Send " + endpoint.method });
  send.addEventListener("click", async function () {
    var path = endpoint.path.replace(/\{([^}]+)\}/g, function (_, name) {
      return encodeURIComponent(paramInputs[name].value || "");
    });
    var init = { method: endpoint.method, headers: { accept: "application/json" } };
    if (editor) {
      try { JSON.parse(editor.value); } catch (error) {
        result.textContent = "The body is not valid JSON: " + error.message;
        result.classList.remove("hidden");
        return;
      }
      init.body = editor.value;
      init.headers["content-type"] = "application/json";
    }
    send.disabled = true;
    result.classList.remove("hidden");
    result.textContent = "…";
    var started = performance.now();
    try {
      var response = await fetch("./" + path.replace(/^\//, ""), init);
      var text = await response.text();
      var shown = text;
      try { shown = pretty(shortenDataUrls(JSON.parse(text), 120)); } catch (_) { shown = text; }
      result.textContent = "HTTP " + response.status + " · " +
        formatSeconds((performance.now() - started) / 1000) + "\n\n" + shown;
    } catch (error) {
      result.textContent = "Request failed: " + error.message;
    } finally {
      send.disabled = false;
    }
  });
  box.appendChild(el("div", { class: "actions" }, [send]));
  box.appendChild(result);
  return box;
}

boot();
})();
`;
