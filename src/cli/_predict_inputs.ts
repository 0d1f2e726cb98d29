// `cog predict` inputs: `-i name=value` / `--json` turned into a request body
// using the model's OpenAPI Input schema (Cog's coercion rules), and the
// CLI's preflight validation with Cog's messages (cli-predict.md 4-5).

import { dataUrlNameParam, extensionForMime, mimeForName } from "../server/mod.ts";
import { CliError } from "./_errors.ts";

type Schema = Record<string, unknown>;

/** The Input component with `$ref`s to enum components inlined. */
export interface InputSchema {
  properties: Record<string, Schema>;
  required: string[];
}

/** Picks the Input (or TrainingInput) component and inlines enum refs. */
export function inputSchemaOf(doc: Record<string, unknown> | null, train = false): InputSchema {
  if (!doc) throw new CliError("OpenAPI schema is required to validate inputs");
  const components = (doc.components as Record<string, unknown> | undefined)?.schemas as
    | Record<string, Schema>
    | undefined;
  if (!components) throw new CliError("OpenAPI schema is missing components");
  const input = (train ? components.TrainingInput ?? components.Input : components.Input) as
    | Schema
    | undefined;
  if (!input) {
    throw new CliError(
      train
        ? "OpenAPI schema is missing TrainingInput or Input component"
        : "OpenAPI schema is missing Input component",
    );
  }
  const inline = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(inline);
    if (node && typeof node === "object") {
      const obj = node as Schema;
      if (typeof obj.$ref === "string") {
        const name = obj.$ref.split("/").pop()!;
        return inline(components[name] ?? {});
      }
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inline(v)]));
    }
    return node;
  };
  const properties = inline(input.properties ?? {}) as Record<string, Schema>;
  return { properties, required: (input.required as string[] | undefined) ?? [] };
}

function typesOf(schema: Schema): string[] {
  const out: string[] = [];
  const visit = (s: Schema) => {
    if (typeof s.type === "string") out.push(s.type);
    for (const key of ["allOf", "anyOf", "oneOf"]) {
      for (const member of (s[key] as Schema[] | undefined) ?? []) visit(member);
    }
  };
  visit(schema);
  return out;
}

function resolvedType(schema: Schema): string | undefined {
  if (typeof schema.type === "string") return schema.type;
  for (const key of ["allOf", "anyOf"]) {
    for (const member of (schema[key] as Schema[] | undefined) ?? []) {
      if (typeof member.type === "string") return member.type;
    }
  }
  return undefined;
}

/**
 * `@file` as a data URL (never a bare path: the server refuses those), with the
 * file's own name in a `name=` media type parameter so the model gets
 * `clip.mkv`, not `file.bin` (our server honours it; Cog ignores it).
 */
async function readFileAsDataUrl(name: string, path: string): Promise<string> {
  const expanded = path.startsWith("~/") ? `${Deno.env.get("HOME")}${path.slice(1)}` : path;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(expanded);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file or directory"
      : (error as Error).message;
    throw new CliError(`input "${name}": open ${path}: ${reason}`);
  }
  const base = expanded.slice(expanded.lastIndexOf("/") + 1);
  const named = base === "" ? "" : `;${dataUrlNameParam(base)}`;
  return `data:${mimeForName(expanded)}${named};base64,${bytes.toBase64()}`;
}

function coerceScalar(value: string, schema: Schema | undefined): unknown {
  if (!schema) return value;
  const types = typesOf(schema);
  const acceptsString = types.includes("string") || types.length === 0;
  const candidates: unknown[] = [];
  if ((value === "true" || value === "false") && types.includes("boolean")) {
    candidates.push(value === "true");
  }
  if (types.includes("integer") || types.includes("number")) {
    if (/^[+-]?\d+$/.test(value) && Math.abs(Number(value)) <= 2147483647) {
      candidates.push(Number(value));
    } else if (types.includes("number") && value.trim() !== "" && Number.isFinite(Number(value))) {
      candidates.push(Number(value));
    }
  }
  for (const candidate of candidates) {
    if (!acceptsString || validateValue(candidate, schema, "x").length === 0) return candidate;
  }
  return value;
}

/** Builds the input object from repeated `-i name=value` flags. */
export async function inputsFromFlags(
  flags: string[],
  schema: InputSchema,
): Promise<Record<string, unknown>> {
  const grouped = new Map<string, string[]>();
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq === -1) {
      throw new CliError(`Failed to parse input '${flag}', expected format is 'name=value'`);
    }
    const name = flag.slice(0, eq);
    let value = flag.slice(eq + 1);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1);
    }
    grouped.set(name, [...(grouped.get(name) ?? []), value]);
  }
  checkUnknown([...grouped.keys()], schema);
  const input: Record<string, unknown> = {};
  for (const [name, values] of grouped) {
    const prop = schema.properties[name];
    if (values.length > 1) {
      const items = (prop?.items as Schema | undefined) ?? undefined;
      input[name] = await Promise.all(
        values.map((v) =>
          v.startsWith("@") ? readFileAsDataUrl(name, v.slice(1)) : coerceScalar(v, items)
        ),
      );
      continue;
    }
    const value = values[0];
    if (value.startsWith("@")) {
      input[name] = await readFileAsDataUrl(name, value.slice(1));
      continue;
    }
    const type = prop ? resolvedType(prop) : undefined;
    if (type === "object") {
      try {
        input[name] = JSON.parse(value);
      } catch (error) {
        throw new CliError(`invalid input "${name}": not valid JSON: ${(error as Error).message}`);
      }
    } else if (type === "array") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        parsed = undefined;
      }
      input[name] = Array.isArray(parsed)
        ? parsed
        : [coerceScalar(value, (prop!.items as Schema | undefined) ?? undefined)];
    } else {
      input[name] = coerceScalar(value, prop);
    }
  }
  return input;
}

/** Builds the input object from `--json` text (already read). */
export async function inputsFromJson(
  text: string,
  schema: InputSchema,
): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`Failed to parse JSON: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new CliError("Failed to parse JSON: the inputs must be a JSON object");
  }
  const input = parsed as Record<string, unknown>;
  checkUnknown(Object.keys(input), schema);
  for (const [name, value] of Object.entries(input)) {
    if (typeof value === "string" && value.startsWith("@")) {
      input[name] = await readFileAsDataUrl(name, value.slice(1));
    }
  }
  return input;
}

function checkUnknown(names: string[], schema: InputSchema): void {
  const known = Object.keys(schema.properties);
  const unknown = names.filter((n) => !known.includes(n)).sort();
  if (unknown.length === 0) return;
  const valid = known.length > 0
    ? `valid inputs are: ${known.join(", ")}`
    : "model does not accept inputs";
  if (unknown.length === 1) throw new CliError(`unknown input "${unknown[0]}"; ${valid}`);
  throw new CliError(`unknown inputs ${unknown.map((n) => `"${n}"`).join(", ")}; ${valid}`);
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function fmtNumber(n: number): string {
  return String(n);
}

/** Checks one value against a schema; returns Cog CLI reasons (without the prefix). */
function validateValue(
  value: unknown,
  schema: Schema,
  path: string,
): { path: string; reason: string }[] {
  const anyOf = schema.anyOf as Schema[] | undefined;
  if (anyOf) {
    if (anyOf.some((m) => validateValue(value, m, path).length === 0)) return [];
    return [{ path, reason: `doesn't match any schema from "anyOf"` }];
  }
  const allOf = schema.allOf as Schema[] | undefined;
  if (allOf) {
    for (const member of allOf) {
      const errors = validateValue(value, member, path);
      if (errors.length > 0) return errors;
    }
  }
  const type = schema.type as string | undefined;
  const actual = jsonType(value);
  if (type) {
    const ok = type === actual ||
      (type === "integer" && typeof value === "number" && Number.isInteger(value)) ||
      (type === "number" && typeof value === "number");
    if (!ok) {
      const got = actual === "number" && type === "integer" ? "number" : actual;
      return [{ path, reason: `expected ${type}, got ${got}` }];
    }
  }
  const enumValues = schema.enum as unknown[] | undefined;
  if (enumValues && !enumValues.some((e) => e === value)) {
    return [{ path, reason: `must be one of: ${enumValues.map(String).join(", ")}` }];
  }
  const out: { path: string; reason: string }[] = [];
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      out.push({ path, reason: `number must be at least ${fmtNumber(schema.minimum)}` });
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      out.push({ path, reason: `number must be at most ${fmtNumber(schema.maximum)}` });
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      out.push({ path, reason: `minimum string length is ${schema.minLength}` });
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) {
      out.push({ path, reason: `maximum string length is ${schema.maxLength}` });
    }
    if (typeof schema.pattern === "string") {
      try {
        if (!new RegExp(schema.pattern, "u").test(value)) {
          out.push({
            path,
            reason: `string doesn't match the regular expression "${schema.pattern}"`,
          });
        }
      } catch {
        // an invalid pattern is the server's problem
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) =>
      out.push(...validateValue(item, schema.items as Schema, `${path}.${i}`))
    );
  }
  return out;
}

/** Cog's preflight: nulls, types, ranges, choices, required; throws CliError with Cog's text. */
export function validateInputs(input: Record<string, unknown>, schema: InputSchema): void {
  const nullKey = Object.keys(input).sort().find((k) => input[k] === null);
  if (nullKey) {
    throw new CliError(
      `invalid input "${nullKey}": must not be null (omit the input to use its default)`,
    );
  }
  const problems: string[] = [];
  for (const name of Object.keys(input).sort()) {
    const prop = schema.properties[name];
    if (!prop) continue;
    for (const error of validateValue(input[name], prop, name)) {
      problems.push(`invalid input "${error.path}": ${error.reason}`);
    }
  }
  for (const name of schema.required) {
    if (!(name in input)) problems.push(`missing required input "${name}"`);
  }
  if (problems.length === 1) throw new CliError(problems[0]);
  if (problems.length > 1) {
    throw new CliError(`input validation failed:\n${problems.map((p) => `- ${p}`).join("\n")}`);
  }
}

/** Extension for a data URL's media type ("" when unknown). */
export function extensionForDataUrl(url: string): string {
  const meta = url.slice(5, url.indexOf(","));
  const mime = meta.split(";")[0];
  if (!mime || mime === "None") return ".txt";
  return extensionForMime(mime) ?? "";
}
