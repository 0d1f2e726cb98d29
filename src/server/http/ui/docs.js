// @ts-check
/// <reference lib="dom" />
// The /docs page's script, served at /_cog/docs.js: renders the model's
// inputs, output and endpoints from /openapi.json, each endpoint with example
// requests, a curl command and a "Try it" form that calls this server.

import { $, baseUrl, el, getJson } from "./dom.js";
import {
  constraintText,
  curlCommand,
  errorMessage,
  exampleInput,
  formatSeconds,
  inputFields,
  isStreamingModel,
  shellQuote,
  shortenDataUrls,
  sleep,
  typeLabel,
} from "./lib.js";

/** @typedef {import("./lib.js").SchemaNode} SchemaNode */

/**
 * One documented response of an operation.
 * @typedef {object} ApiResponse
 * @property {string} [description]
 * @property {Record<string, { schema?: { $ref?: string } }>} [content]
 */

/**
 * The parts of an OpenAPI operation this page shows.
 * @typedef {object} Operation
 * @property {string} [summary]
 * @property {string} [description]
 * @property {Record<string, ApiResponse>} [responses]
 */

/**
 * The model's OpenAPI document as this page reads it.
 * @typedef {SchemaNode & {
 *   info?: { title?: string; version?: string };
 *   paths?: Record<string, Record<string, Operation>>;
 *   components?: { schemas?: Record<string, SchemaNode> };
 * }} OpenApiDoc
 */

/** @typedef {{ method: string; path: string; op: Operation }} Endpoint */

/**
 * @param {unknown} value
 * @returns {string}
 */
function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/**
 * What the schema does not say about Cog's endpoints (Cog's own wording where it has one).
 * @type {Record<string, string>}
 */
const NOTES = {
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

async function boot() {
  let delay = 500;
  for (;;) {
    const health = /** @type {{ status?: string } | null} */ ((await getJson("health-check")).body);
    const status = health && health.status ? health.status : "UNREACHABLE";
    $("health").textContent = status.toLowerCase().replace("_", " ");
    $("health").className = "badge " + status;
    const schema = await getJson("openapi.json");
    if (schema.status === 200 && schema.body) {
      return render(/** @type {OpenApiDoc} */ (schema.body));
    }
    $("notice").textContent = status === "SETUP_FAILED"
      ? "The model's setup() failed; its schema is unavailable. See /health-check for the logs."
      : "Waiting for the model to finish setup (" + status.toLowerCase() + ")…";
    if (status === "SETUP_FAILED") return;
    await sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
  }
}

/**
 * @param {OpenApiDoc} doc
 * @returns {Record<string, SchemaNode>}
 */
function schemasOf(doc) {
  return (doc.components || {}).schemas || {};
}

/** @param {OpenApiDoc} doc */
function render(doc) {
  $("notice").classList.add("hidden");
  $("docs").classList.remove("hidden");
  const schemas = schemasOf(doc);
  const paths = doc.paths || {};
  const training = Boolean(paths["/trainings"]);
  const streaming = isStreamingModel(doc);
  const inputNames = Object.keys(schemas).filter((name) => /Input$/.test(name));
  if (inputNames.indexOf("Input") < 0 && schemas.Input) inputNames.unshift("Input");

  const overview = $("overview");
  overview.appendChild(el("h2", { text: (doc.info?.title || "Cog") + " model API" }));
  overview.appendChild(el("p", {}, [
    "Base URL ",
    el("code", { text: baseUrl() }),
    " · Cog " + (doc.info?.version || "?"),
    " · " + (streaming ? "streams output over Server-Sent Events" : "non-streaming"),
    training ? " · also trains" : "",
  ]));
  overview.appendChild(el("p", { class: "meta" }, [
    "Every request and response is JSON. Files are passed as URLs or data: URLs. ",
    "This page and the ",
    el("a", { href: "./", text: "playground" }),
    " are served by the model server itself and work offline.",
  ]));

  const inputs = $("inputs");
  for (const name of inputNames) {
    if (inputNames.length > 1) inputs.appendChild(el("h3", { text: name }));
    inputs.appendChild(inputTable(doc, name));
  }

  const outputs = $("output-schema");
  const outputNames = Object.keys(schemas).filter((name) => /Output$/.test(name));
  for (const name of outputNames) {
    const output = schemas[name];
    if (outputNames.length > 1) outputs.appendChild(el("h3", { text: name }));
    const display = output["x-cog-array-display"] === "concatenate"
      ? " — a text stream: the chunks join into one string"
      : output["x-cog-array-type"] === "iterator"
      ? " — yielded item by item"
      : "";
    outputs.appendChild(el("p", {}, [el("code", { text: typeLabel(doc, output) }), display]));
    if (output.properties) outputs.appendChild(propertyTable(doc, output));
  }

  const endpoints = $("endpoints");
  for (const endpoint of listEndpoints(doc)) {
    endpoints.appendChild(endpointElement(doc, endpoint));
  }

  const all = $("schemas");
  for (const name of Object.keys(schemas)) {
    all.appendChild(el("details", { class: "endpoint", id: "schema-" + name }, [
      el("summary", {}, [
        el("span", { class: "path", text: name }),
        el("span", { class: "summary", text: typeLabel(doc, schemas[name]) }),
      ]),
      el("div", { class: "body" }, [el("pre", { class: "json", text: pretty(schemas[name]) })]),
    ]));
  }
}

/**
 * @param {OpenApiDoc} doc
 * @param {string} name
 * @returns {HTMLElement}
 */
function inputTable(doc, name) {
  const fields = inputFields(doc, name);
  if (fields.length === 0) return el("p", { class: "meta", text: "No inputs." });
  const rows = fields.map((field) => {
    /** @type {string[]} */
    const notes = [];
    if (field.choices) {
      notes.push("one of " + field.choices.map((choice) => JSON.stringify(choice)).join(", "));
    }
    const constraints = constraintText(field);
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
    el("thead", {}, [
      el(
        "tr",
        {},
        ["Name", "Type", "Required", "Default", "Description"].map((h) => el("th", { text: h })),
      ),
    ]),
    el("tbody", {}, rows),
  ]);
}

/**
 * @param {OpenApiDoc} doc
 * @param {SchemaNode} schema
 * @returns {HTMLElement}
 */
function propertyTable(doc, schema) {
  const required = /** @type {unknown[]} */ (schema.required || []);
  const properties = /** @type {Record<string, unknown>} */ (schema.properties);
  return el("table", { class: "schema" }, [
    el("thead", {}, [
      el("tr", {}, ["Field", "Type", "Always present"].map((h) => el("th", { text: h }))),
    ]),
    el(
      "tbody",
      {},
      Object.keys(properties).map((key) =>
        el("tr", {}, [
          el("td", {}, [el("code", { text: key })]),
          el("td", {}, [el("code", { text: typeLabel(doc, properties[key]) })]),
          el("td", { text: required.indexOf(key) >= 0 ? "yes" : "no" }),
        ])
      ),
    ),
  ]);
}

/**
 * The documented endpoints plus the ones the schema leaves out, predictions first.
 * @param {OpenApiDoc} doc
 * @returns {Endpoint[]}
 */
function listEndpoints(doc) {
  const paths = doc.paths || {};
  /** @type {Endpoint[]} */
  const list = [];
  for (const path of Object.keys(paths)) {
    for (const method of Object.keys(paths[path])) {
      list.push({ method: method.toUpperCase(), path, op: paths[path][method] });
    }
  }
  /** @type {[string, string][]} */
  const extra = [["GET", "/openapi.json"], ["PUT", "/predictions/{prediction_id}"]];
  if (paths["/trainings"]) extra.push(["PUT", "/trainings/{training_id}"]);
  extra.push(["POST", "/shutdown"]);
  for (const [method, path] of extra) {
    const known = list.some((e) => e.method === method && e.path === path);
    if (!known) list.push({ method, path, op: {} });
  }
  /** @param {Endpoint} e */
  const rank = (e) =>
    (e.path.indexOf("/predictions") === 0 ? 0 : e.path.indexOf("/trainings") === 0 ? 1 : 2) * 10 +
    (e.path.length / 100);
  return list.sort((a, b) => rank(a) - rank(b));
}

/**
 * The request body to show (and send) for an endpoint, or null if it takes none.
 * @param {OpenApiDoc} doc
 * @param {Endpoint} endpoint
 * @returns {{ input: Record<string, unknown> } | null}
 */
function bodyExample(doc, endpoint) {
  const inputName = endpoint.path.indexOf("/trainings") === 0 && schemasOf(doc).TrainingInput
    ? "TrainingInput"
    : "Input";
  if (
    endpoint.method === "GET" || /cancel$/.test(endpoint.path) || endpoint.path === "/shutdown"
  ) return null;
  return { input: exampleInput(inputFields(doc, inputName)) };
}

/**
 * @param {OpenApiDoc} doc
 * @param {Endpoint} endpoint
 * @returns {HTMLElement}
 */
function endpointElement(doc, endpoint) {
  const key = endpoint.method + " " + endpoint.path;
  const op = endpoint.op || {};
  const example = bodyExample(doc, endpoint);
  const params = (endpoint.path.match(/\{[^}]+\}/g) || []).map((p) => p.slice(1, -1));
  const body = el("div", { class: "body" });
  const note = NOTES[key] || op.description || "";
  if (note) body.appendChild(el("p", { text: note }));
  if (params.length) {
    body.appendChild(el("h3", { text: "Path parameters" }));
    body.appendChild(el("p", {}, params.map((p) => el("code", { text: p + " (string) " }))));
  }
  if (example) {
    body.appendChild(el("h3", { text: "Request body" }));
    body.appendChild(el("p", { class: "meta" }, [
      "JSON with ",
      el("code", { text: "input" }),
      " (see Inputs) and optionally ",
      el("code", { text: "id" }),
      ", ",
      el("code", { text: "webhook" }),
      ", ",
      el("code", { text: "webhook_events_filter" }),
      ", ",
      el("code", { text: "context" }),
      ".",
    ]));
    body.appendChild(el("pre", { class: "json", text: pretty(example) }));
  }
  const responses = op.responses || {};
  const codes = Object.keys(responses);
  if (codes.length) {
    body.appendChild(el("h3", { text: "Responses" }));
    body.appendChild(el(
      "ul",
      {},
      codes.map((code) => {
        const response = responses[code];
        const content = response.content && response.content["application/json"];
        const ref = content && content.schema && content.schema.$ref
          ? content.schema.$ref.split("/").pop() ?? ""
          : "";
        return el("li", {}, [
          el("code", { text: code }),
          " " + (response.description || ""),
          ref ? el("span", {}, [" — ", el("a", { href: "#schema-" + ref, text: ref })]) : null,
        ]);
      }),
    ));
  }
  const sample = endpoint.path.replace(/\{[^}]+\}/g, "my-id-1");
  let curl = "curl -s" + (endpoint.method === "GET" ? " " : " -X " + endpoint.method + " ") +
    shellQuote(baseUrl() + sample);
  if (example) curl = curlCommand(baseUrl(), example, { path: sample });
  if (example && endpoint.method === "PUT") curl = curl.replace("-X POST", "-X PUT");
  body.appendChild(el("h3", { text: "Example" }));
  body.appendChild(el("pre", { class: "block", text: curl }));
  if (example && endpoint.path === "/predictions" && isStreamingModel(doc)) {
    body.appendChild(el("p", { class: "meta", text: "Streaming:" }));
    body.appendChild(
      el("pre", { class: "block", text: curlCommand(baseUrl(), example, { streaming: true }) }),
    );
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

/**
 * The "Try it" box of an endpoint: its path parameters, an editable body and a send button.
 * @param {Endpoint} endpoint
 * @param {string[]} params
 * @param {unknown} example
 * @returns {HTMLElement}
 */
function tryIt(endpoint, params, example) {
  const box = el("div", { class: "try" }, [el("h3", { text: "Try it" })]);
  /** @type {Record<string, HTMLInputElement>} */
  const paramInputs = {};
  for (const p of params) {
    const input = el("input", { type: "text", placeholder: p, "aria-label": p });
    paramInputs[p] = input;
    box.appendChild(
      el("div", { class: "field" }, [
        el("label", { class: "name" }, [el("code", { text: p })]),
        input,
      ]),
    );
  }
  /** @type {HTMLTextAreaElement | null} */
  let editor = null;
  if (example) {
    editor = el("textarea", {
      rows: Math.min(16, pretty(example).split("\n").length + 1),
      "aria-label": "request body",
    });
    editor.value = pretty(example);
    box.appendChild(editor);
  }
  const result = el("pre", { class: "json hidden", "data-result": "" });
  const send = el("button", { type: "button", class: "primary", text: "Send " + endpoint.method });
  send.addEventListener("click", async () => {
    const path = endpoint.path.replace(
      /\{([^}]+)\}/g,
      (_, /** @type {string} */ name) => encodeURIComponent(paramInputs[name].value || ""),
    );
    /** @type {{ method: string; headers: Record<string, string>; body?: string }} */
    const init = { method: endpoint.method, headers: { accept: "application/json" } };
    if (editor) {
      try {
        JSON.parse(editor.value);
      } catch (error) {
        result.textContent = "The body is not valid JSON: " + errorMessage(error);
        result.classList.remove("hidden");
        return;
      }
      init.body = editor.value;
      init.headers["content-type"] = "application/json";
    }
    send.disabled = true;
    result.classList.remove("hidden");
    result.textContent = "…";
    const started = performance.now();
    try {
      const response = await fetch("./" + path.replace(/^\//, ""), init);
      const text = await response.text();
      let shown = text;
      try {
        shown = pretty(shortenDataUrls(JSON.parse(text), 120));
      } catch {
        shown = text;
      }
      result.textContent = "HTTP " + response.status + " · " +
        formatSeconds((performance.now() - started) / 1000) + "\n\n" + shown;
    } catch (error) {
      result.textContent = "Request failed: " + errorMessage(error);
    } finally {
      send.disabled = false;
    }
  });
  box.appendChild(el("div", { class: "actions" }, [send]));
  box.appendChild(result);
  return box;
}

boot();
