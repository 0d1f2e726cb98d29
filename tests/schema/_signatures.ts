// Signature builders and the golden signatures shared by the schema tests.

import type { InputSpec, Signature, TypeDesc } from "../../src/schema/mod.ts";

export const STR: TypeDesc = { kind: "str" };
export const INT: TypeDesc = { kind: "int" };
export const FLOAT: TypeDesc = { kind: "float" };
export const BOOL: TypeDesc = { kind: "bool" };
export const PATH: TypeDesc = { kind: "path" };
export const FILE: TypeDesc = { kind: "file" };
export const SECRET: TypeDesc = { kind: "secret" };
export const ANY: TypeDesc = { kind: "any" };

export function list(items: TypeDesc): TypeDesc {
  return { kind: "list", items };
}

export function optional(inner: TypeDesc): TypeDesc {
  return { kind: "optional", inner };
}

export function union(...members: TypeDesc[]): TypeDesc {
  return { kind: "union", members };
}

/** One parameter as the worker reports it; `default` in `extra` implies `default_given`. */
export function input(
  name: string,
  type: TypeDesc,
  extra: Partial<InputSpec> = {},
): InputSpec {
  return {
    name,
    type,
    default_given: "default" in extra,
    default: null,
    description: null,
    ge: null,
    le: null,
    min_length: null,
    max_length: null,
    regex: null,
    choices: null,
    deprecated: false,
    accept: null,
    ...extra,
  };
}

export function signature(
  inputs: InputSpec[],
  output: TypeDesc = STR,
): Signature {
  return { inputs, output };
}

/** python-sdk.md §4.3 example 2 (`static_schema_gen.txtar`). */
export const EXAMPLE_2 = signature([
  input("text", STR),
  input("image", PATH),
  input("count", INT, {
    description: "Number of iterations",
    default: 5,
    ge: 1,
    le: 100,
  }),
  input("mode", STR, {
    description: "Quality mode",
    default: "fast",
    choices: ["fast", "balanced", "quality"],
  }),
]);

/** python-sdk.md §4.3 example 3: the required / nullable / default rules. */
export const EXAMPLE_3 = signature([
  input("note", optional(STR)),
  input("images", list(PATH)),
  input("prompt", STR, { description: "Text prompt" }),
  input("api_key", SECRET, { description: "Optional API key", default: null }),
  input("seed", INT, { description: "Random seed", default: null }),
  input("tags", optional(list(STR)), { default: null }),
  input("params", ANY),
  input("value", optional(union(STR, FLOAT)), { default: null }),
]);

/** http-protocol.md §13.4: the complete example. */
export const COMPLETE_EXAMPLE = signature(
  [
    input("prompt", STR, { description: "Text prompt" }),
    input("width", INT, {
      description: "Output width",
      default: 512,
      ge: 256,
      le: 1024,
    }),
    input("image", PATH, { description: "Reference image" }),
  ],
  { kind: "iterator", items: STR, concatenate: false, async: false },
);
