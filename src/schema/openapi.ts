// Predictor signature -> the OpenAPI 3.0.2 document Cog serves at
// /openapi.json (http-protocol.md §13, python-sdk.md §4). Pure: no I/O.

import { inputRules, titleCase, unwrapOptional } from "./_input_rules.ts";
import type { InputSpec, Signature, TypeDesc } from "./signature.ts";

/** A JSON object in the document. */
type JsonObject = Record<string, unknown>;

/** Which endpoint family a document describes. */
export type SchemaMode = "predict" | "train";

/** Options for {@linkcode buildOpenApiDocument}. */
export interface BuildOpenApiOptions {
  /** `predict` describes /predictions, `train` describes /trainings. */
  mode: SchemaMode;
  /** Adds `x-cog-streaming: true` to the create operation (the `@streaming` decorator). */
  streaming: boolean;
  /** `info.version`: the Cog version that built the model. */
  version: string;
}

/** Component names per mode. */
interface ComponentNames {
  input: string;
  output: string;
  request: string;
  response: string;
}

const PREDICT_NAMES: ComponentNames = {
  input: "Input",
  output: "Output",
  request: "PredictionRequest",
  response: "PredictionResponse",
};

const TRAIN_NAMES: ComponentNames = {
  input: "TrainingInput",
  output: "TrainingOutput",
  request: "TrainingRequest",
  response: "TrainingResponse",
};

/** The component names (`Input`/`TrainingInput`, ...) used for a mode. */
export function componentNames(mode: SchemaMode): Readonly<ComponentNames> {
  return mode === "train" ? TRAIN_NAMES : PREDICT_NAMES;
}

/** The OpenAPI / JSON-schema type name of a primitive kind. */
const PRIMITIVE_TYPES: Record<string, string> = {
  str: "string",
  int: "integer",
  float: "number",
  bool: "boolean",
};

/** The schema fragment of a type, without title or field-level keys. */
export function typeFragment(type: TypeDesc): JsonObject {
  switch (type.kind) {
    case "str":
    case "int":
    case "float":
    case "bool":
      return { type: PRIMITIVE_TYPES[type.kind] };
    case "path":
    case "file":
      return { type: "string", format: "uri" };
    case "secret":
      return {
        type: "string",
        format: "password",
        writeOnly: true,
        "x-cog-secret": true,
      };
    case "any":
      return { type: "object" };
    case "list":
      return { type: "array", items: typeFragment(type.items) };
    case "optional":
      if (type.inner.kind === "union") {
        return {
          anyOf: type.inner.members.map((member) => ({
            ...typeFragment(member),
            nullable: true,
          })),
          nullable: true,
        };
      }
      return { ...typeFragment(type.inner), nullable: true };
    case "union":
      return { anyOf: type.members.map(typeFragment) };
    case "dict":
      return type.values === null
        ? { type: "object" }
        : { type: "object", additionalProperties: typeFragment(type.values) };
    case "iterator": {
      const fragment: JsonObject = {
        type: "array",
        items: typeFragment(type.items),
        "x-cog-array-type": "iterator",
      };
      if (type.concatenate) fragment["x-cog-array-display"] = "concatenate";
      return fragment;
    }
    case "object": {
      const properties: JsonObject = {};
      const required: string[] = [];
      for (const field of type.fields) {
        properties[field.name] = {
          title: titleCase(field.name),
          ...typeFragment(field.type),
        };
        if (field.required && field.type.kind !== "optional") {
          required.push(field.name);
        }
      }
      const fragment: JsonObject = { type: "object", properties };
      if (required.length > 0) fragment.required = required;
      return fragment;
    }
  }
}

/** The enum component for a `choices` parameter. */
function enumComponent(
  spec: InputSpec,
  choices: (string | number)[],
): JsonObject {
  const base = unwrapOptional(spec.type).kind;
  const type = base === "int" ? "integer" : base === "float" ? "number" : "string";
  return {
    title: spec.name,
    description: "An enumeration.",
    enum: choices,
    type,
  };
}

/** One `Input` property (python-sdk.md §4.2). */
function inputProperty(spec: InputSpec, order: number): JsonObject {
  const rules = inputRules(spec);
  const property: JsonObject = spec.choices === null
    ? { title: titleCase(spec.name), ...typeFragment(spec.type) }
    : { allOf: [{ $ref: `#/components/schemas/${spec.name}` }] };
  if (rules.nullable) property.nullable = true;
  if (spec.description !== null) property.description = spec.description;
  if (rules.default !== undefined) property.default = rules.default.value;
  if (spec.ge !== null) property.minimum = spec.ge;
  if (spec.le !== null) property.maximum = spec.le;
  if (spec.min_length !== null) property.minLength = spec.min_length;
  if (spec.max_length !== null) property.maxLength = spec.max_length;
  if (spec.regex !== null) property.pattern = spec.regex;
  if (spec.deprecated) property.deprecated = true;
  if (spec.accept !== null) property["x-cog-accept"] = spec.accept;
  property["x-order"] = order;
  return property;
}

/** The `Input` (or `TrainingInput`) component. */
export function inputSchema(signature: Signature, title = "Input"): JsonObject {
  const properties: JsonObject = {};
  const required: string[] = [];
  signature.inputs.forEach((spec, order) => {
    properties[spec.name] = inputProperty(spec, order);
    if (inputRules(spec).required) required.push(spec.name);
  });
  const schema: JsonObject = { title, type: "object", properties };
  if (required.length > 0) schema.required = required;
  return schema;
}

/** The `Output` (or `TrainingOutput`) component. */
export function outputSchema(
  signature: Signature,
  title = "Output",
): JsonObject {
  return { title, ...typeFragment(signature.output) };
}

const JSON_ANY = { "application/json": { schema: {} } };

function ref(name: string): JsonObject {
  return { $ref: `#/components/schemas/${name}` };
}

function jsonRef(name: string): JsonObject {
  return { "application/json": { schema: ref(name) } };
}

const VALIDATION_ERROR_RESPONSE = {
  description: "Validation Error",
  content: jsonRef("HTTPValidationError"),
};

function getOperation(summary: string, operationId: string): JsonObject {
  return {
    get: {
      summary,
      operationId,
      responses: {
        "200": { description: "Successful Response", content: JSON_ANY },
      },
    },
  };
}

function modePaths(options: BuildOpenApiOptions): JsonObject {
  const names = componentNames(options.mode);
  const train = options.mode === "train";
  const collection = train ? "trainings" : "predictions";
  const idParam = train ? "training_id" : "prediction_id";
  const create: JsonObject = {
    summary: train ? "Train" : "Predict",
    description: train
      ? "Run a single training on the model"
      : "Run a single prediction on the model",
    operationId: train ? "train_trainings_post" : "predict_predictions_post",
  };
  if (options.streaming) create["x-cog-streaming"] = true;
  create.requestBody = { content: jsonRef(names.request) };
  create.responses = {
    "200": {
      description: "Successful Response",
      content: jsonRef(names.response),
    },
    "422": VALIDATION_ERROR_RESPONSE,
  };
  const cancel = {
    summary: "Cancel",
    operationId: `cancel_${collection}__${idParam}__cancel_post`,
    parameters: [{
      required: true,
      schema: { title: titleCase(idParam), type: "string" },
      name: idParam,
      in: "path",
    }],
    responses: {
      "200": { description: "Successful Response", content: JSON_ANY },
      "422": VALIDATION_ERROR_RESPONSE,
    },
  };
  return {
    [`/${collection}`]: { post: create },
    [`/${collection}/{${idParam}}/cancel`]: { post: cancel },
  };
}

function requestSchema(names: ComponentNames): JsonObject {
  return {
    title: names.request,
    type: "object",
    properties: {
      id: { title: "Id", type: "string" },
      input: ref(names.input),
    },
  };
}

function responseSchema(names: ComponentNames): JsonObject {
  const dateTime = (title: string) => ({
    title,
    type: "string",
    format: "date-time",
  });
  return {
    title: names.response,
    type: "object",
    properties: {
      input: ref(names.input),
      output: ref(names.output),
      id: { title: "Id", type: "string" },
      version: { title: "Version", type: "string" },
      created_at: dateTime("Created At"),
      started_at: dateTime("Started At"),
      completed_at: dateTime("Completed At"),
      status: { title: "Status", type: "string" },
      error: { title: "Error", type: "string" },
      logs: { title: "Logs", type: "string" },
      metrics: { title: "Metrics", type: "object" },
    },
  };
}

/** The fixed components shared by both modes. */
function sharedSchemas(): JsonObject {
  return {
    Status: {
      title: "Status",
      description: "An enumeration.",
      type: "string",
      enum: ["starting", "processing", "succeeded", "canceled", "failed"],
    },
    HTTPValidationError: {
      title: "HTTPValidationError",
      type: "object",
      properties: {
        detail: {
          title: "Detail",
          type: "array",
          items: ref("ValidationError"),
        },
      },
    },
    ValidationError: {
      title: "ValidationError",
      type: "object",
      required: ["loc", "msg", "type"],
      properties: {
        loc: {
          title: "Location",
          type: "array",
          items: { anyOf: [{ type: "string" }, { type: "integer" }] },
        },
        msg: { title: "Message", type: "string" },
        type: { title: "Error Type", type: "string" },
      },
    },
  };
}

/**
 * Builds Cog's OpenAPI document for one mode of a predictor.
 *
 * @example
 * ```ts
 * const doc = buildOpenApiDocument(signature, { mode: "predict", streaming: false, version: "0.22.0" });
 * ```
 */
export function buildOpenApiDocument(
  signature: Signature,
  options: BuildOpenApiOptions,
): JsonObject {
  const names = componentNames(options.mode);
  const schemas: JsonObject = {
    [names.input]: inputSchema(signature, names.input),
    [names.output]: outputSchema(signature, names.output),
  };
  for (const spec of signature.inputs) {
    if (spec.choices !== null) {
      schemas[spec.name] = enumComponent(spec, spec.choices);
    }
  }
  schemas[names.request] = requestSchema(names);
  schemas[names.response] = responseSchema(names);
  Object.assign(schemas, sharedSchemas());
  return {
    openapi: "3.0.2",
    info: { title: "Cog", version: options.version },
    paths: {
      "/": getOperation("Root", "root__get"),
      "/health-check": getOperation(
        "Healthcheck",
        "healthcheck_health_check_get",
      ),
      ...modePaths(options),
    },
    components: { schemas },
  };
}

function objectAt(doc: JsonObject, key: string): JsonObject {
  const value = doc[key];
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as JsonObject
    : {};
}

/**
 * The document for a model with both predict and train: paths and
 * components unioned (the first document's entries come first; on a name
 * clash, such as two `choices` parameters with the same name, the second wins).
 */
export function mergeOpenApiDocuments(
  a: JsonObject,
  b: JsonObject,
): JsonObject {
  return {
    ...a,
    paths: { ...objectAt(a, "paths"), ...objectAt(b, "paths") },
    components: {
      ...objectAt(a, "components"),
      schemas: {
        ...objectAt(objectAt(a, "components"), "schemas"),
        ...objectAt(objectAt(b, "components"), "schemas"),
      },
    },
  };
}

function schemasOf(doc: JsonObject): JsonObject {
  return objectAt(objectAt(doc, "components"), "schemas");
}

function isSignature(value: JsonObject | Signature): value is Signature {
  return Array.isArray(value.inputs) && "output" in value;
}

/**
 * Whether the final `output` of that mode is an array (`Output.type === "array"`:
 * a list or an iterator), from a document or straight from a signature.
 */
export function isArrayOutput(
  source: JsonObject | Signature,
  mode: SchemaMode,
): boolean {
  if (isSignature(source)) {
    const kind = source.output.kind;
    return kind === "list" || kind === "iterator";
  }
  const output = objectAt(schemasOf(source), componentNames(mode).output);
  return output.type === "array";
}

/** Whether the document describes a training endpoint (`TrainingInput` exists). */
export function hasTrainingInput(doc: JsonObject): boolean {
  return "TrainingInput" in schemasOf(doc);
}
