// @ts-check
/// <reference lib="dom" />
// The playground's form, served at /_cog/form.js: one editor per model input
// (chosen by lib.js's inputFields), read back into the JSON the API expects,
// with per-field error messages.

import { el } from "./dom.js";
import { constraintText, defaultText, parseFieldValue } from "./lib.js";

/** @typedef {import("./lib.js").Field} Field */
/** @typedef {import("./lib.js").FieldValue} FieldValue */

/**
 * One field of the form: its label, type, description, editor, hints and error slot.
 * @param {Field} field
 * @param {() => void} onChange Called whenever the value may have changed.
 * @returns {HTMLElement}
 */
export function fieldElement(field, onChange) {
  const id = "field-" + field.name;
  const wrapper = el("div", { class: "field", "data-field": field.name, "data-kind": field.kind });
  wrapper.appendChild(el("label", { class: "name", for: id }, [
    el("code", { text: field.name }),
    el("span", { class: "type", text: field.typeLabel }),
    field.required && !field.hasDefault ? el("span", { class: "req", text: "required" }) : null,
  ]));
  if (field.description) wrapper.appendChild(el("div", { class: "desc", text: field.description }));
  wrapper.appendChild(control(field, id, onChange));
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
 * @param {() => void} onChange
 * @returns {HTMLElement}
 */
function control(field, id, onChange) {
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
      input.addEventListener("change", onChange);
      return input;
    }
    case "boolean": {
      const input = el("input", { type: "checkbox", ...common });
      input.checked = field.default === true;
      const text = el("span", { class: "type", text: String(input.checked) });
      input.addEventListener("change", () => {
        text.textContent = String(input.checked);
        onChange();
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
      input.addEventListener("input", onChange);
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
        onChange();
      });
      input.addEventListener("input", () => {
        if (input.value !== "") range.value = input.value;
      });
      return el("div", { class: "range-row" }, [range, input]);
    }
    case "secret": {
      const input = el("input", { type: "password", autocomplete: "off", ...common });
      input.value = initial;
      input.addEventListener("input", onChange);
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
        onChange();
      });
      url.addEventListener("input", onChange);
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
      input.addEventListener("input", onChange);
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
 * @param {Field[]} fields
 * @param {boolean} preview
 * @returns {Promise<{ input: Record<string, unknown>; errors: Record<string, unknown> }>}
 */
export async function collectInput(fields, preview) {
  /** @type {Record<string, unknown>} */
  const input = {};
  /** @type {Record<string, unknown>} */
  const errors = {};
  for (const field of fields) {
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

/**
 * Marks the fields named in `errors` invalid with their message and clears the others.
 * @param {Record<string, unknown>} errors
 */
export function showFieldErrors(errors) {
  for (const wrapper of Array.from(document.querySelectorAll(".field"))) {
    const message = errors[String(wrapper.getAttribute("data-field"))];
    const box = /** @type {HTMLElement} */ (wrapper.querySelector(".error"));
    wrapper.classList.toggle("invalid", Boolean(message));
    box.textContent = message ? String(message) : "";
    box.classList.toggle("hidden", !message);
  }
}
