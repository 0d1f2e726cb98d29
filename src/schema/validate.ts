// Predictor signature -> zod validators for prediction input, with Cog's
// 422 `detail` entries (http-protocol.md §11), plus the lists of file and
// secret inputs the server needs for downloads and masking. File inputs must be
// http(s)/data URLs (a bare path would hand the model, and so the client, a host
// file) unless the server opts in. Pure: no I/O.

import { z } from "zod";
import { type InputRules, inputRules, unwrapOptional } from "./_input_rules.ts";
import type { InputSpec, Signature, TypeDesc } from "./signature.ts";

/** One entry of the 422 body's `detail` array. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** The outcome of validating one request's `input`. */
export type ValidationResult =
  | {
    ok: true;
    /** The input without unknown keys, with null injected for omitted bare optionals. */
    value: Record<string, unknown>;
    /** Unknown keys that were dropped, for a server-side log line. */
    stripped: string[];
  }
  | { ok: false; errors: ValidationIssue[] };

/** Validates a request's `input` (after the server turned a missing/null `input` into `{}`). */
export type InputValidator = (input: unknown) => ValidationResult;

/** `msg` of a missing required field (contract constant, pydantic's wording). */
export const FIELD_REQUIRED_MESSAGE = "Field required";
/** `type` of a missing required field. */
export const MISSING_ERROR_TYPE = "value_error.missing";
/** `type` of every other validation error. */
export const VALUE_ERROR_TYPE = "value_error";
/** `loc[2]` when the whole input is wrong. */
export const ROOT_LOCATION = "__root__";

/** True when a file input value is an http(s):// or data: URL (case-insensitive scheme). */
export function isFileInputUrl(value: string): boolean {
  return /^(https?:\/\/|data:)/i.test(value);
}

/**
 * The 422 message for a file input that is not an http(s)/data URL: Cog's
 * wording for a URL of another scheme, the same allow-list for a bare path.
 */
export function localFileMessage(name: string, value: string): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/|(?=\/))/.exec(value)?.[1];
  // One letter is a Windows drive (C:/x); http:/x is a malformed URL, not another scheme.
  if (scheme && scheme.length > 1 && !/^(https?|data)$/i.test(scheme)) {
    return `input "${name}": '${scheme.toLowerCase().slice(0, 40)}' is not a valid URL scheme. ` +
      `'data', 'http', or 'https' is supported.`;
  }
  const shown = value.length > 80 ? `${show(value.slice(0, 80))}...` : show(value);
  return `input "${name}": ${shown} is not a URL. 'data', 'http', or 'https' is supported; ` +
    `local paths are refused over HTTP.`;
}

/** Options for {@linkcode createInputValidator}. */
export interface InputValidatorOptions {
  /** false (tests only): always use zod, to compare with the fast path. */
  fast?: boolean;
  /**
   * Accept any string for Path/File inputs, local paths included
   * (COG_ALLOW_LOCAL_FILE_INPUTS; trusted setups only). Default false.
   */
  allowLocalFiles?: boolean;
}

/** A value as jsonschema-rs prints it in messages: compact JSON. */
function show(value: unknown): string {
  return value === undefined ? "null" : JSON.stringify(value);
}

function notOfType(type: string): (issue: { input?: unknown }) => string {
  return (issue) => `${show(issue.input)} is not of type "${type}"`;
}

function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function characters(limit: number): string {
  return `${limit} character${limit === 1 ? "" : "s"}`;
}

/** The zod schema of a bare type (no field-level constraints). */
function typeSchema(type: TypeDesc): z.ZodType {
  switch (type.kind) {
    case "str":
    case "path":
    case "file":
    case "secret":
      return z.string({ error: notOfType("string") });
    case "int":
      // JSON-schema integer: any number with no fractional part (so 1.0 passes).
      // Aborting, so a union member `int` rejects 1.5 outright.
      return z.number({ error: notOfType("integer") }).refine(
        Number.isInteger,
        {
          abort: true,
          error: notOfType("integer"),
        },
      );
    case "float":
      return z.number({ error: notOfType("number") });
    case "bool":
      return z.boolean({ error: notOfType("boolean") });
    case "any":
    case "dict":
    case "object":
      return z.record(z.string(), z.unknown(), { error: notOfType("object") });
    case "list":
    case "iterator":
      return z.array(typeSchema(type.items), { error: notOfType("array") });
    case "optional":
      // "Optional" means "may be omitted": an explicit null is still rejected.
      return typeSchema(type.inner);
    case "union":
      return z.union(type.members.map(typeSchema), {
        error: (issue) => `${show(issue.input)} is not valid under any of the given schemas`,
      });
  }
}

/** Compiles a parameter's `regex` with JSON-schema semantics, or throws naming the parameter. */
function compilePattern(spec: InputSpec, regex: string): RegExp {
  try {
    return new RegExp(regex, "u");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `input "${spec.name}": regex ${JSON.stringify(regex)} is not a valid ECMAScript ` +
        `pattern (${reason}); rewrite it without Python-only syntax`,
    );
  }
}

/**
 * True when the worker turns (elements of) this type into a Path/File: the
 * shapes python/cog/_inputs.py coerces (Optional, list, nested lists), not
 * unions (their strings reach the model as strings).
 */
function carriesFiles(type: TypeDesc): boolean {
  if (type.kind === "optional") return carriesFiles(type.inner);
  if (type.kind === "list") return carriesFiles(type.items);
  return type.kind === "path" || type.kind === "file";
}

/** Each string in `value` that lands in a Path/File slot of `type` and is not a URL. */
function localFileValues(
  type: TypeDesc,
  value: unknown,
  path: (string | number)[],
  found: [(string | number)[], string][],
): void {
  if (type.kind === "optional") localFileValues(type.inner, value, path, found);
  else if (type.kind === "list" && Array.isArray(value)) {
    value.forEach((item, i) => localFileValues(type.items, item, [...path, i], found));
  } else if (
    (type.kind === "path" || type.kind === "file") && typeof value === "string" &&
    !isFileInputUrl(value)
  ) found.push([path, value]);
}

/** The zod schema of one parameter: its type plus ge/le/length/regex/choices and URL-only files. */
function fieldSchema(spec: InputSpec, allowLocalFiles: boolean): z.ZodType {
  const base = unwrapOptional(spec.type);
  if (spec.choices !== null) {
    const choices = spec.choices;
    const typeName = base.kind === "int" ? "integer" : base.kind === "float" ? "number" : "string";
    const typed = typeName === "string" ? typeSchema({ kind: "str" }) : typeSchema(base);
    const literals = choices as [string | number, ...(string | number)[]];
    return typed.pipe(
      z.literal(literals, {
        error: (issue) => `${show(issue.input)} is not one of ${JSON.stringify(choices)}`,
      }),
    );
  }
  let schema = typeSchema(spec.type);
  const { ge, le, min_length: minLength, max_length: maxLength, regex } = spec;
  const numeric = base.kind === "int" || base.kind === "float";
  const textual = base.kind === "str" || base.kind === "path" ||
    base.kind === "file" ||
    base.kind === "secret";
  if (numeric && ge !== null) {
    schema = schema.refine((value) => (value as number) >= ge, {
      error: (issue) => `${show(issue.input)} is less than the minimum of ${ge}`,
    });
  }
  if (numeric && le !== null) {
    schema = schema.refine((value) => (value as number) <= le, {
      error: (issue) => `${show(issue.input)} is greater than the maximum of ${le}`,
    });
  }
  if (textual && minLength !== null) {
    schema = schema.refine(
      (value) => codePoints(value as string) >= minLength,
      {
        error: (issue) => `${show(issue.input)} is shorter than ${characters(minLength)}`,
      },
    );
  }
  if (textual && maxLength !== null) {
    schema = schema.refine(
      (value) => codePoints(value as string) <= maxLength,
      {
        error: (issue) => `${show(issue.input)} is longer than ${characters(maxLength)}`,
      },
    );
  }
  if (textual && regex !== null) {
    const pattern = compilePattern(spec, regex);
    // Search semantics, not anchored; reset lastIndex in case of a sticky/global flag.
    schema = schema.refine((value) => {
      pattern.lastIndex = 0;
      return pattern.test(value as string);
    }, {
      error: (issue) => `${show(issue.input)} does not match ${JSON.stringify(regex)}`,
    });
  }
  if (!allowLocalFiles && carriesFiles(spec.type)) {
    schema = schema.superRefine((value, ctx) => {
      const found: [(string | number)[], string][] = [];
      localFileValues(spec.type, value, [], found);
      for (const [path, local] of found) {
        ctx.addIssue({
          code: "custom",
          path,
          input: local,
          message: localFileMessage(spec.name, local),
        });
      }
    });
  }
  return schema;
}

/** RFC 6901 path without the leading slash: `nums/0`. */
function pointer(path: PropertyKey[]): string {
  if (path.length === 0) return ROOT_LOCATION;
  return path.map((part) => String(part).replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Builds the validator for a signature's inputs. Throws an `Error` naming the
 * parameter when a `regex` cannot be compiled.
 *
 * @example
 * ```ts
 * const validate = createInputValidator(signature);
 * const result = validate({ prompt: "hi" });
 * if (!result.ok) return c.json({ detail: result.errors }, 422);
 * ```
 */
export function createInputValidator(
  signature: Signature,
  options: InputValidatorOptions = {},
): InputValidator {
  const allowLocalFiles = options.allowLocalFiles ?? false;
  const shape: Record<string, z.ZodType> = {};
  const rules = new Map(
    signature.inputs.map((spec) => [spec.name, inputRules(spec)]),
  );
  for (const spec of signature.inputs) {
    const schema = fieldSchema(spec, allowLocalFiles);
    shape[spec.name] = rules.get(spec.name)!.required ? schema : schema.optional();
  }
  const objectSchema = z.object(shape, { error: notOfType("object") });
  const secrets = new Set(secretInputs(signature));
  // `fast: false` (tests only) compares the zod-only path with the fast one.
  const fast = options.fast === false
    ? null
    : fastChecks(signature.inputs, rules, allowLocalFiles ? SIMPLE_CHECKS : URL_FILE_CHECKS);

  return (input: unknown): ValidationResult => {
    // Null prototype: a parameter named `constructor` must not be found on Object.prototype.
    const known: Record<string, unknown> = Object.create(null);
    const stripped: string[] = [];
    if (isPlainObject(input)) {
      for (const [key, value] of Object.entries(input)) {
        if (rules.has(key)) known[key] = value;
        else stripped.push(key);
      }
    }
    const valid = fast !== null && isPlainObject(input) && fast(known);
    const result = valid ? null : objectSchema.safeParse(isPlainObject(input) ? known : input);
    if (result && !result.success) {
      const missing: ValidationIssue[] = [];
      const invalid: ValidationIssue[] = [];
      for (const issue of result.error.issues) {
        const field = issue.path[0];
        if (
          issue.path.length === 1 && typeof field === "string" &&
          !Object.hasOwn(known, field)
        ) {
          missing.push({
            loc: ["body", "input", field],
            msg: FIELD_REQUIRED_MESSAGE,
            type: MISSING_ERROR_TYPE,
          });
        } else {
          invalid.push({
            loc: ["body", "input", pointer(issue.path)],
            msg: typeof field === "string" && secrets.has(field)
              ? maskSecret(issue.message, valueAt(known, issue.path))
              : issue.message,
            type: VALUE_ERROR_TYPE,
          });
        }
      }
      return { ok: false, errors: [...missing, ...invalid] };
    }
    const value: Record<string, unknown> = { ...known };
    for (const [name, rule] of rules) {
      if (rule.injectNull && !Object.hasOwn(value, name)) value[name] = null;
    }
    return { ok: true, value, stripped };
  };
}

/**
 * A validator without zod for signatures whose every input is a bare str/int/float/
 * bool (or a file/secret/Optional of one) with no constraints, or null when there is
 * another. True means zod would accept `known` too (zod's output is not used: the
 * value is `known` either way); false means "ask zod", which also words the errors.
 * zod's parse was a measurable share of the server's CPU per prediction.
 */
function fastChecks(
  inputs: InputSpec[],
  rules: Map<string, InputRules>,
  simpleChecks: typeof SIMPLE_CHECKS,
): ((known: Record<string, unknown>) => boolean) | null {
  const checks: [string, (value: unknown) => boolean, boolean][] = [];
  for (const spec of inputs) {
    if (
      spec.choices !== null || spec.ge !== null || spec.le !== null ||
      spec.min_length !== null || spec.max_length !== null || spec.regex !== null
    ) return null;
    const check = simpleChecks[unwrapOptional(spec.type).kind];
    if (!check) return null;
    checks.push([spec.name, check, rules.get(spec.name)!.required]);
  }
  return (known) => {
    for (const [name, check, required] of checks) {
      const value = known[name];
      if (value === undefined ? required : !check(value)) return false;
    }
    return true;
  };
}

const isString = (value: unknown) => typeof value === "string";
const SIMPLE_CHECKS: Partial<Record<TypeDesc["kind"], (value: unknown) => boolean>> = {
  str: isString,
  path: isString,
  file: isString,
  secret: isString,
  int: (value) => typeof value === "number" && Number.isInteger(value),
  float: (value) => typeof value === "number",
  bool: (value) => typeof value === "boolean",
};
const isUrlString = (value: unknown) => typeof value === "string" && isFileInputUrl(value);
/** SIMPLE_CHECKS where a Path/File must be a URL (the default). */
const URL_FILE_CHECKS: typeof SIMPLE_CHECKS = {
  ...SIMPLE_CHECKS,
  path: isUrlString,
  file: isUrlString,
};

/** A parameter the server must download before calling the model. */
export interface FileInput {
  name: string;
  /** `list[Path]` (each element is a URL) rather than a single `Path`. */
  list: boolean;
  kind: "path" | "file";
}

/** Inputs typed `Path`/`File`, a list of them, or Optional of either (not unions, not str). */
export function fileInputs(signature: Signature): FileInput[] {
  const found: FileInput[] = [];
  for (const spec of signature.inputs) {
    const type = unwrapOptional(spec.type);
    if (type.kind === "path" || type.kind === "file") {
      found.push({ name: spec.name, list: false, kind: type.kind });
    } else if (
      type.kind === "list" &&
      (type.items.kind === "path" || type.items.kind === "file")
    ) {
      found.push({ name: spec.name, list: true, kind: type.items.kind });
    }
  }
  return found;
}

/** A validation message about a Secret input, with the offending value masked (never echoed). */
function maskSecret(message: string, value: unknown): string {
  if (value === null || value === undefined) return message; // nothing to hide
  const shown = show(value);
  return message.startsWith(shown)
    ? `"**********"${message.slice(shown.length)}`
    : "invalid value for a Secret input";
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Names of inputs typed `Secret` or `Optional[Secret]`, whose values must be masked when echoed. */
export function secretInputs(signature: Signature): string[] {
  return signature.inputs.filter((spec) => unwrapOptional(spec.type).kind === "secret").map(
    (spec) => spec.name,
  );
}
