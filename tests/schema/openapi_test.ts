import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  buildOpenApiDocument,
  hasTrainingInput,
  isArrayOutput,
  mergeOpenApiDocuments,
  type Signature,
  type TypeDesc,
} from "../../src/schema/mod.ts";
import { COMPLETE_EXAMPLE_DOCUMENT, EXAMPLE_1_DOCUMENT } from "./_golden.ts";
import {
  ANY,
  BOOL,
  COMPLETE_EXAMPLE,
  EXAMPLE_2,
  EXAMPLE_3,
  FILE,
  FLOAT,
  input,
  INT,
  list,
  optional,
  PATH,
  SECRET,
  signature,
  STR,
  union,
} from "./_signatures.ts";

type Obj = Record<string, unknown>;

const PREDICT = {
  mode: "predict",
  streaming: false,
  version: "0.22.0",
} as const;
const TRAIN = { mode: "train", streaming: false, version: "0.22.0" } as const;

function schemas(doc: Obj): Obj {
  return (doc.components as Obj).schemas as Obj;
}

function component(sig: Signature, name: string, options = PREDICT): Obj {
  return schemas(buildOpenApiDocument(sig, options))[name] as Obj;
}

function outputFor(type: TypeDesc): Obj {
  return component(signature([], type), "Output");
}

Deno.test("buildOpenApiDocument reproduces python-sdk.md example 1 exactly", () => {
  const doc = buildOpenApiDocument(signature([input("s", STR)]), PREDICT);
  deepStrictEqual(doc, EXAMPLE_1_DOCUMENT);
  deepStrictEqual(
    Object.keys(doc.paths as Obj),
    Object.keys(EXAMPLE_1_DOCUMENT.paths as Obj),
  );
  deepStrictEqual(
    Object.keys(schemas(doc)),
    Object.keys(schemas(EXAMPLE_1_DOCUMENT)),
  );
});

Deno.test("buildOpenApiDocument reproduces the http-protocol.md complete example with x-cog-streaming", () => {
  const doc = buildOpenApiDocument(COMPLETE_EXAMPLE, {
    ...PREDICT,
    streaming: true,
  });
  deepStrictEqual(doc, COMPLETE_EXAMPLE_DOCUMENT);
  deepStrictEqual(Object.keys((schemas(doc).Input as Obj).properties as Obj), [
    "prompt",
    "width",
    "image",
  ]);
});

Deno.test("buildOpenApiDocument omits x-cog-streaming when the predictor is not streaming", () => {
  const doc = buildOpenApiDocument(COMPLETE_EXAMPLE, PREDICT);
  const post = ((doc.paths as Obj)["/predictions"] as Obj).post as Obj;
  strictEqual("x-cog-streaming" in post, false);
});

Deno.test("buildOpenApiDocument turns constraints and choices into python-sdk.md example 2", () => {
  const doc = buildOpenApiDocument(EXAMPLE_2, PREDICT);
  deepStrictEqual(schemas(doc).Input, {
    properties: {
      text: { title: "Text", type: "string", "x-order": 0 },
      image: { format: "uri", title: "Image", type: "string", "x-order": 1 },
      count: {
        default: 5,
        description: "Number of iterations",
        maximum: 100,
        minimum: 1,
        title: "Count",
        type: "integer",
        "x-order": 2,
      },
      mode: {
        allOf: [{ $ref: "#/components/schemas/mode" }],
        default: "fast",
        description: "Quality mode",
        "x-order": 3,
      },
    },
    required: ["text", "image"],
    title: "Input",
    type: "object",
  });
  deepStrictEqual(schemas(doc).Output, { title: "Output", type: "string" });
  deepStrictEqual(schemas(doc).mode, {
    description: "An enumeration.",
    enum: ["fast", "balanced", "quality"],
    title: "mode",
    type: "string",
  });
  deepStrictEqual(Object.keys(schemas(doc)), [
    "Input",
    "Output",
    "mode",
    "PredictionRequest",
    "PredictionResponse",
    "Status",
    "HTTPValidationError",
    "ValidationError",
  ]);
});

Deno.test("buildOpenApiDocument applies the required, nullable and default rules of python-sdk.md example 3 (a None default makes seed optional, as in Cog's pydantic era)", () => {
  const inputSchema = component(EXAMPLE_3, "Input");
  deepStrictEqual(inputSchema, {
    properties: {
      note: { nullable: true, title: "Note", type: "string", "x-order": 0 },
      images: {
        items: { format: "uri", type: "string" },
        title: "Images",
        type: "array",
        "x-order": 1,
      },
      prompt: {
        description: "Text prompt",
        title: "Prompt",
        type: "string",
        "x-order": 2,
      },
      api_key: {
        default: null,
        description: "Optional API key",
        format: "password",
        nullable: true,
        title: "Api Key",
        type: "string",
        writeOnly: true,
        "x-cog-secret": true,
        "x-order": 3,
      },
      seed: {
        description: "Random seed",
        title: "Seed",
        type: "integer",
        "x-order": 4,
      },
      tags: {
        default: null,
        items: { type: "string" },
        nullable: true,
        title: "Tags",
        type: "array",
        "x-order": 5,
      },
      params: { title: "Params", type: "object", "x-order": 6 },
      value: {
        anyOf: [{ nullable: true, type: "string" }, {
          nullable: true,
          type: "number",
        }],
        default: null,
        nullable: true,
        title: "Value",
        "x-order": 7,
      },
    },
    required: ["images", "prompt", "params"],
    title: "Input",
    type: "object",
  });
  deepStrictEqual(Object.keys(inputSchema.properties as Obj), [
    "note",
    "images",
    "prompt",
    "api_key",
    "seed",
    "tags",
    "params",
    "value",
  ]);
});

Deno.test("buildOpenApiDocument describes a BaseModel output as in python-sdk.md example 4", () => {
  const output = outputFor({
    kind: "object",
    name: "Output",
    fields: [
      { name: "text", type: STR, required: true },
      { name: "score", type: FLOAT, required: true },
      { name: "tags", type: list(STR), required: true },
      { name: "image", type: optional(PATH), required: false },
    ],
  });
  deepStrictEqual(output, {
    properties: {
      text: { title: "Text", type: "string" },
      score: { title: "Score", type: "number" },
      tags: { items: { type: "string" }, title: "Tags", type: "array" },
      image: { format: "uri", nullable: true, title: "Image", type: "string" },
    },
    required: ["text", "score", "tags"],
    title: "Output",
    type: "object",
  });
  deepStrictEqual(Object.keys(output.properties as Obj), [
    "text",
    "score",
    "tags",
    "image",
  ]);
});

Deno.test("buildOpenApiDocument describes streaming and array outputs as in python-sdk.md example 5", () => {
  deepStrictEqual(
    outputFor({
      kind: "iterator",
      items: STR,
      concatenate: true,
      async: false,
    }),
    {
      items: { type: "string" },
      title: "Output",
      type: "array",
      "x-cog-array-display": "concatenate",
      "x-cog-array-type": "iterator",
    },
  );
  deepStrictEqual(
    outputFor({
      kind: "iterator",
      items: PATH,
      concatenate: false,
      async: true,
    }),
    {
      items: { format: "uri", type: "string" },
      title: "Output",
      type: "array",
      "x-cog-array-type": "iterator",
    },
  );
  deepStrictEqual(outputFor(list(PATH)), {
    items: { format: "uri", type: "string" },
    title: "Output",
    type: "array",
  });
  deepStrictEqual(outputFor({ kind: "dict", values: INT }), {
    additionalProperties: { type: "integer" },
    title: "Output",
    type: "object",
  });
  deepStrictEqual(outputFor({ kind: "dict", values: null }), {
    title: "Output",
    type: "object",
  });
});

Deno.test("buildOpenApiDocument gives primitive and file outputs the Output title", () => {
  deepStrictEqual(outputFor(INT), { title: "Output", type: "integer" });
  deepStrictEqual(outputFor(FLOAT), { title: "Output", type: "number" });
  deepStrictEqual(outputFor(BOOL), { title: "Output", type: "boolean" });
  deepStrictEqual(outputFor(FILE), {
    title: "Output",
    type: "string",
    format: "uri",
  });
  deepStrictEqual(outputFor(list(ANY)), {
    title: "Output",
    type: "array",
    items: { type: "object" },
  });
  deepStrictEqual(
    outputFor({ kind: "dict", values: { kind: "dict", values: STR } }),
    {
      title: "Output",
      type: "object",
      additionalProperties: {
        type: "object",
        additionalProperties: { type: "string" },
      },
    },
  );
});

Deno.test("buildOpenApiDocument maps every input type to its fragment", () => {
  const sig = signature([
    input("a_str", STR),
    input("a_int", INT),
    input("a_float", FLOAT),
    input("a_bool", BOOL),
    input("a_path", PATH, { accept: "image/*,.png" }),
    input("a_file", FILE),
    input("a_secret", SECRET),
    input("a_any", ANY),
    input("many_paths", list(PATH)),
    input("either", union(STR, INT)),
    input("lists", union(list(INT), list(FLOAT))),
  ]);
  const properties = component(sig, "Input").properties as Obj;
  deepStrictEqual(properties, {
    a_str: { title: "A Str", type: "string", "x-order": 0 },
    a_int: { title: "A Int", type: "integer", "x-order": 1 },
    a_float: { title: "A Float", type: "number", "x-order": 2 },
    a_bool: { title: "A Bool", type: "boolean", "x-order": 3 },
    a_path: {
      title: "A Path",
      type: "string",
      format: "uri",
      "x-cog-accept": "image/*,.png",
      "x-order": 4,
    },
    a_file: { title: "A File", type: "string", format: "uri", "x-order": 5 },
    a_secret: {
      title: "A Secret",
      type: "string",
      format: "password",
      writeOnly: true,
      "x-cog-secret": true,
      "x-order": 6,
    },
    a_any: { title: "A Any", type: "object", "x-order": 7 },
    many_paths: {
      title: "Many Paths",
      type: "array",
      items: { type: "string", format: "uri" },
      "x-order": 8,
    },
    either: {
      title: "Either",
      anyOf: [{ type: "string" }, { type: "integer" }],
      "x-order": 9,
    },
    lists: {
      title: "Lists",
      anyOf: [
        { type: "array", items: { type: "integer" } },
        { type: "array", items: { type: "number" } },
      ],
      "x-order": 10,
    },
  });
});

Deno.test("buildOpenApiDocument emits length, pattern and deprecated constraints only when set", () => {
  const sig = signature([
    input("name", STR, {
      min_length: 3,
      max_length: 5,
      regex: "^z",
      deprecated: true,
    }),
    input("ratio", FLOAT, { ge: 0.5, le: 2, default: 1 }),
    input("plain", STR, { default: "x" }),
  ]);
  const schema = component(sig, "Input");
  deepStrictEqual((schema.properties as Obj).name, {
    title: "Name",
    type: "string",
    minLength: 3,
    maxLength: 5,
    pattern: "^z",
    deprecated: true,
    "x-order": 0,
  });
  deepStrictEqual((schema.properties as Obj).ratio, {
    title: "Ratio",
    type: "number",
    default: 1,
    minimum: 0.5,
    maximum: 2,
    "x-order": 1,
  });
  deepStrictEqual((schema.properties as Obj).plain, {
    title: "Plain",
    type: "string",
    default: "x",
    "x-order": 2,
  });
  deepStrictEqual(schema.required, ["name"]);
});

Deno.test("buildOpenApiDocument leaves out required when every input has a default", () => {
  const schema = component(
    signature([input("n", INT, { default: 1 })]),
    "Input",
  );
  strictEqual("required" in schema, false);
  deepStrictEqual(component(signature([]), "Input"), {
    title: "Input",
    type: "object",
    properties: {},
  });
});

Deno.test("buildOpenApiDocument keeps a Secret without a default required and not nullable", () => {
  const schema = component(signature([input("token", SECRET)]), "Input");
  deepStrictEqual(schema.required, ["token"]);
  strictEqual("nullable" in ((schema.properties as Obj).token as Obj), false);
});

Deno.test("buildOpenApiDocument keeps a union with None and no default required and nullable", () => {
  const schema = component(
    signature([input("v", optional(union(STR, INT)))]),
    "Input",
  );
  deepStrictEqual(schema.required, ["v"]);
  deepStrictEqual((schema.properties as Obj).v, {
    title: "V",
    anyOf: [{ type: "string", nullable: true }, {
      type: "integer",
      nullable: true,
    }],
    nullable: true,
    "x-order": 0,
  });
});

Deno.test("buildOpenApiDocument gives integer choices an integer enum component", () => {
  const sig = signature([
    input("steps", INT, { default: 10, choices: [10, 20, 50] }),
  ]);
  const doc = buildOpenApiDocument(sig, PREDICT);
  deepStrictEqual(schemas(doc).steps, {
    title: "steps",
    description: "An enumeration.",
    enum: [10, 20, 50],
    type: "integer",
  });
  deepStrictEqual((schemas(doc).Input as Obj).properties, {
    steps: {
      allOf: [{ $ref: "#/components/schemas/steps" }],
      default: 10,
      "x-order": 0,
    },
  });
});

Deno.test("buildOpenApiDocument in train mode uses the training names, paths and wording", () => {
  const doc = buildOpenApiDocument(signature([input("s", STR)]), TRAIN);
  deepStrictEqual(Object.keys(doc.paths as Obj), [
    "/",
    "/health-check",
    "/trainings",
    "/trainings/{training_id}/cancel",
  ]);
  deepStrictEqual(Object.keys(schemas(doc)), [
    "TrainingInput",
    "TrainingOutput",
    "TrainingRequest",
    "TrainingResponse",
    "Status",
    "HTTPValidationError",
    "ValidationError",
  ]);
  const paths = doc.paths as Obj;
  const post = (paths["/trainings"] as Obj).post as Obj;
  strictEqual(post.operationId, "train_trainings_post");
  strictEqual(post.description, "Run a single training on the model");
  deepStrictEqual(post.requestBody, {
    content: {
      "application/json": {
        schema: { $ref: "#/components/schemas/TrainingRequest" },
      },
    },
  });
  const cancel = (paths["/trainings/{training_id}/cancel"] as Obj).post as Obj;
  strictEqual(cancel.operationId, "cancel_trainings__training_id__cancel_post");
  deepStrictEqual(cancel.parameters, [{
    required: true,
    schema: { title: "Training Id", type: "string" },
    name: "training_id",
    in: "path",
  }]);
  const response = schemas(doc).TrainingResponse as Obj;
  deepStrictEqual((response.properties as Obj).output, {
    $ref: "#/components/schemas/TrainingOutput",
  });
  deepStrictEqual((schemas(doc).TrainingRequest as Obj).properties, {
    id: { title: "Id", type: "string" },
    input: { $ref: "#/components/schemas/TrainingInput" },
  });
});

Deno.test("mergeOpenApiDocuments unions the paths and components of predict and train", () => {
  const predict = buildOpenApiDocument(EXAMPLE_2, PREDICT);
  const train = buildOpenApiDocument(
    signature([input("steps", INT)], list(PATH)),
    TRAIN,
  );
  const merged = mergeOpenApiDocuments(predict, train);
  deepStrictEqual(Object.keys(merged.paths as Obj), [
    "/",
    "/health-check",
    "/predictions",
    "/predictions/{prediction_id}/cancel",
    "/trainings",
    "/trainings/{training_id}/cancel",
  ]);
  deepStrictEqual(Object.keys(schemas(merged)), [
    "Input",
    "Output",
    "mode",
    "PredictionRequest",
    "PredictionResponse",
    "Status",
    "HTTPValidationError",
    "ValidationError",
    "TrainingInput",
    "TrainingOutput",
    "TrainingRequest",
    "TrainingResponse",
  ]);
  deepStrictEqual(merged.info, { title: "Cog", version: "0.22.0" });
  strictEqual(merged.openapi, "3.0.2");
  strictEqual(hasTrainingInput(merged), true);
  strictEqual(hasTrainingInput(predict), false);
  strictEqual(isArrayOutput(merged, "predict"), false);
  strictEqual(isArrayOutput(merged, "train"), true);
});

Deno.test("isArrayOutput is true for list and iterator outputs, from a document or a signature", () => {
  const iterator = COMPLETE_EXAMPLE;
  const scalar = signature([], STR);
  strictEqual(isArrayOutput(iterator, "predict"), true);
  strictEqual(isArrayOutput(scalar, "predict"), false);
  strictEqual(isArrayOutput(signature([], list(INT)), "train"), true);
  strictEqual(
    isArrayOutput(buildOpenApiDocument(iterator, PREDICT), "predict"),
    true,
  );
  strictEqual(
    isArrayOutput(buildOpenApiDocument(scalar, PREDICT), "predict"),
    false,
  );
  strictEqual(
    isArrayOutput(buildOpenApiDocument(iterator, PREDICT), "train"),
    false,
  );
});

Deno.test("buildOpenApiDocument title-cases snake_case names part by part", () => {
  const properties = component(
    signature([input("prediction_id", STR), input("myURL", STR)]),
    "Input",
  )
    .properties as Obj;
  strictEqual((properties.prediction_id as Obj).title, "Prediction Id");
  strictEqual((properties.myURL as Obj).title, "MyURL");
});
