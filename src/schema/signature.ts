// The predictor signature the Python worker reports in its `ready` message
// (docs/worker-protocol.md): zod schemas and the types derived from them.

import { z } from "zod";

/** A Python annotation, as the worker describes it. */
export type TypeDesc =
  | { kind: "str" | "int" | "float" | "bool" | "path" | "file" | "secret" | "any" }
  | { kind: "list"; items: TypeDesc }
  | { kind: "optional"; inner: TypeDesc }
  | { kind: "union"; members: TypeDesc[] }
  | { kind: "dict"; values: TypeDesc | null }
  | { kind: "iterator"; items: TypeDesc; concatenate: boolean; async: boolean }
  | { kind: "object"; name: string; fields: ObjectField[] };

/** One field of a structured (`BaseModel`, TypedDict, dataclass) output. */
export interface ObjectField {
  name: string;
  type: TypeDesc;
  required: boolean;
}

/** zod schema for {@linkcode TypeDesc}. */
export const TypeDescSchema: z.ZodType<TypeDesc> = z.lazy(() =>
  z.discriminatedUnion("kind", [
    z.object({
      kind: z.enum(["str", "int", "float", "bool", "path", "file", "secret", "any"]),
    }),
    z.object({ kind: z.literal("list"), items: TypeDescSchema }),
    z.object({ kind: z.literal("optional"), inner: TypeDescSchema }),
    z.object({ kind: z.literal("union"), members: z.array(TypeDescSchema).min(1) }),
    z.object({ kind: z.literal("dict"), values: TypeDescSchema.nullable() }),
    z.object({
      kind: z.literal("iterator"),
      items: TypeDescSchema,
      concatenate: z.boolean(),
      async: z.boolean(),
    }),
    z.object({
      kind: z.literal("object"),
      name: z.string(),
      fields: z.array(
        z.object({ name: z.string(), type: TypeDescSchema, required: z.boolean() }),
      ),
    }),
  ])
);

/** JSON values as they cross the protocol. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** zod schema for any JSON value. */
export const JsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number(),
    z.string(),
    z.array(JsonSchema),
    z.record(z.string(), JsonSchema),
  ])
);

/** zod schema for one predictor parameter. */
export const InputSpecSchema = z.object({
  name: z.string().min(1),
  type: TypeDescSchema,
  default_given: z.boolean(),
  default: JsonSchema,
  description: z.string().nullable(),
  ge: z.number().nullable(),
  le: z.number().nullable(),
  min_length: z.number().int().nullable(),
  max_length: z.number().int().nullable(),
  regex: z.string().nullable(),
  choices: z.array(z.union([z.string(), z.number()])).nullable(),
  deprecated: z.boolean(),
  accept: z.string().nullable(),
});

/** One predictor parameter, in declaration order. */
export type InputSpec = z.infer<typeof InputSpecSchema>;

/** zod schema for the whole signature. */
export const SignatureSchema = z.object({
  inputs: z.array(InputSpecSchema),
  output: TypeDescSchema,
});

/** The predictor's inputs and output type. */
export type Signature = z.infer<typeof SignatureSchema>;

/** zod schema for the `predictor` description in `ready`. */
export const PredictorInfoSchema = z.object({
  ref: z.string(),
  kind: z.enum(["class", "function"]),
  method: z.enum(["run", "predict", "train", "function"]),
  is_async: z.boolean(),
  is_generator: z.boolean(),
  streaming: z.boolean(),
  concurrent_max: z.number().int().positive().nullable(),
  has_healthcheck: z.boolean(),
});

/** How the predictor runs: sync or async, streaming, health check. */
export type PredictorInfo = z.infer<typeof PredictorInfoSchema>;
