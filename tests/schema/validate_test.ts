import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  createInputValidator,
  fileInputs,
  inputRules,
  secretInputs,
  type Signature,
  type ValidationResult,
} from "../../src/schema/mod.ts";
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

/** The `detail` entries of a failed validation (fails the test when it passed). */
function errorsOf(
  result: ValidationResult,
): { loc: (string | number)[]; msg: string; type: string }[] {
  if (result.ok) {
    throw new Error(
      `expected a validation failure, got ${JSON.stringify(result.value)}`,
    );
  }
  return result.errors;
}

/** The single error message for `value` given to field `x`. */
function messageFor(sig: Signature, value: unknown): string {
  const errors = errorsOf(createInputValidator(sig)({ x: value }));
  strictEqual(errors.length, 1, JSON.stringify(errors));
  deepStrictEqual(errors[0].loc, ["body", "input", "x"]);
  strictEqual(errors[0].type, "value_error");
  return errors[0].msg;
}

function accepts(sig: Signature, value: unknown): void {
  const result = createInputValidator(sig)({ x: value });
  strictEqual(result.ok, true, JSON.stringify(result));
}

const one = (type = STR, extra = {}) => signature([input("x", type, extra)]);

Deno.test("createInputValidator accepts the complete example's valid input unchanged", () => {
  const validate = createInputValidator(COMPLETE_EXAMPLE);
  deepStrictEqual(
    validate({ prompt: "hi", image: "https://example.com/a.png" }),
    {
      ok: true,
      value: { prompt: "hi", image: "https://example.com/a.png" },
      stripped: [],
    },
  );
});

Deno.test("createInputValidator reports missing required fields first, in parameter order", () => {
  const validate = createInputValidator(COMPLETE_EXAMPLE);
  deepStrictEqual(errorsOf(validate({ width: 2048 })), [
    {
      loc: ["body", "input", "prompt"],
      msg: "Field required",
      type: "value_error.missing",
    },
    {
      loc: ["body", "input", "image"],
      msg: "Field required",
      type: "value_error.missing",
    },
    {
      loc: ["body", "input", "width"],
      msg: "2048 is greater than the maximum of 1024",
      type: "value_error",
    },
  ]);
});

Deno.test("createInputValidator strips unknown keys and reports them", () => {
  const result = createInputValidator(one())({ x: "a", extra: 1, other: null });
  deepStrictEqual(result, {
    ok: true,
    value: { x: "a" },
    stripped: ["extra", "other"],
  });
});

Deno.test("createInputValidator handles parameters named like Object.prototype members", () => {
  const validate = createInputValidator(
    signature([input("constructor", STR), input("toString", optional(STR))]),
  );
  deepStrictEqual(errorsOf(validate({})), [
    {
      loc: ["body", "input", "constructor"],
      msg: "Field required",
      type: "value_error.missing",
    },
  ]);
  deepStrictEqual(validate({ constructor: "c", __proto__: 1 }), {
    ok: true,
    value: { constructor: "c", toString: null },
    stripped: [],
  });
  deepStrictEqual(
    validate(JSON.parse('{"constructor":"c","__proto__":{"x":1}}')),
    {
      ok: true,
      value: { constructor: "c", toString: null },
      stripped: ["__proto__"],
    },
  );
});

Deno.test("createInputValidator does not coerce a string to an integer", () => {
  strictEqual(messageFor(one(INT), "5"), '"5" is not of type "integer"');
  strictEqual(messageFor(one(INT), "abc"), '"abc" is not of type "integer"');
});

Deno.test("createInputValidator rejects a fractional number for an integer", () => {
  strictEqual(messageFor(one(INT), 1.5), '1.5 is not of type "integer"');
});

Deno.test("createInputValidator accepts 1.0 for an integer and 1 for a float, unchanged", () => {
  accepts(one(INT), 1.0);
  const result = createInputValidator(one(FLOAT))({ x: 1 });
  deepStrictEqual(result, { ok: true, value: { x: 1 }, stripped: [] });
});

Deno.test("createInputValidator does not treat booleans as numbers or numbers as booleans", () => {
  strictEqual(messageFor(one(FLOAT), true), 'true is not of type "number"');
  strictEqual(messageFor(one(INT), false), 'false is not of type "integer"');
  strictEqual(messageFor(one(BOOL), 0), '0 is not of type "boolean"');
  accepts(one(BOOL), false);
});

Deno.test("createInputValidator rejects an explicit null for an optional input", () => {
  strictEqual(
    messageFor(one(optional(STR)), null),
    'null is not of type "string"',
  );
  strictEqual(
    messageFor(one(optional(STR), { default: null }), null),
    'null is not of type "string"',
  );
  strictEqual(
    messageFor(one(SECRET, { default: null }), null),
    'null is not of type "string"',
  );
});

Deno.test("createInputValidator rejects an explicit null for a required input as a type error", () => {
  strictEqual(messageFor(one(STR), null), 'null is not of type "string"');
});

Deno.test("createInputValidator treats ge and le as inclusive bounds", () => {
  const sig = one(INT, { ge: 1, le: 1024 });
  accepts(sig, 1);
  accepts(sig, 1024);
  strictEqual(messageFor(sig, 0), "0 is less than the minimum of 1");
  strictEqual(
    messageFor(sig, 2048),
    "2048 is greater than the maximum of 1024",
  );
  strictEqual(
    messageFor(one(FLOAT, { ge: 0.5 }), 0.25),
    "0.25 is less than the minimum of 0.5",
  );
});

Deno.test("createInputValidator enforces min_length and max_length in characters", () => {
  const sig = one(STR, { min_length: 3, max_length: 5 });
  strictEqual(messageFor(sig, "ab"), '"ab" is shorter than 3 characters');
  strictEqual(
    messageFor(sig, "abcdef"),
    '"abcdef" is longer than 5 characters',
  );
  accepts(sig, "abc");
  // Three code points, six UTF-16 units: JSON-schema counts characters.
  accepts(one(STR, { max_length: 3 }), "😀😀😀");
  strictEqual(
    messageFor(one(STR, { max_length: 1 }), "ab"),
    '"ab" is longer than 1 character',
  );
});

Deno.test("createInputValidator matches regex with unanchored search semantics", () => {
  const sig = one(STR, { regex: "^z" });
  strictEqual(messageFor(sig, "abc"), '"abc" does not match "^z"');
  accepts(sig, "zebra");
  accepts(one(STR, { regex: "b" }), "abc");
  accepts(one(STR, { regex: "\\p{L}+" }), "é");
});

Deno.test("createInputValidator throws a clear error naming the parameter for an invalid regex", () => {
  throws(
    () =>
      createInputValidator(
        signature([input("code", STR, { regex: "(?P<name>x)" })]),
      ),
    (error: unknown) => error instanceof Error && error.message.includes('input "code"'),
  );
});

Deno.test("createInputValidator turns choices into an enum", () => {
  const sig = one(STR, { choices: ["fast", "slow"], default: "fast" });
  strictEqual(messageFor(sig, "x"), '"x" is not one of ["fast","slow"]');
  accepts(sig, "slow");
  const ints = one(INT, { choices: [1, 2] });
  strictEqual(messageFor(ints, 3), "3 is not one of [1,2]");
  strictEqual(messageFor(ints, "1"), '"1" is not of type "integer"');
  accepts(ints, 2);
});

Deno.test("createInputValidator accepts any member of a union and names the union when none fits", () => {
  const sig = one(union(STR, FLOAT));
  accepts(sig, "x");
  accepts(sig, 1);
  accepts(sig, 1.5);
  strictEqual(
    messageFor(sig, true),
    "true is not valid under any of the given schemas",
  );
  strictEqual(
    messageFor(sig, {}),
    "{} is not valid under any of the given schemas",
  );
  strictEqual(
    messageFor(one(union(INT, STR)), 1.5),
    "1.5 is not valid under any of the given schemas",
  );
});

Deno.test("createInputValidator checks list element types inside a union", () => {
  const sig = one(union(list(INT), list(FLOAT)));
  accepts(sig, [1, 2]);
  accepts(sig, [1.5]);
  strictEqual(
    messageFor(sig, [1, "a"]),
    '[1,"a"] is not valid under any of the given schemas',
  );
});

Deno.test("createInputValidator rejects a null for a nullable union", () => {
  const sig = one(optional(union(STR, FLOAT)), { default: null });
  strictEqual(
    messageFor(sig, null),
    "null is not valid under any of the given schemas",
  );
});

Deno.test("createInputValidator locates a bad list element with a JSON-pointer path", () => {
  const errors = errorsOf(
    createInputValidator(signature([input("nums", list(INT))]))({
      nums: [1, "two", 3],
    }),
  );
  deepStrictEqual(errors, [
    {
      loc: ["body", "input", "nums/1"],
      msg: '"two" is not of type "integer"',
      type: "value_error",
    },
  ]);
});

Deno.test("createInputValidator reports a non-object input at __root__", () => {
  const validate = createInputValidator(one());
  deepStrictEqual(errorsOf(validate("abc")), [
    {
      loc: ["body", "input", "__root__"],
      msg: '"abc" is not of type "object"',
      type: "value_error",
    },
  ]);
  deepStrictEqual(
    errorsOf(validate([1]))[0].msg,
    '[1] is not of type "object"',
  );
  deepStrictEqual(
    errorsOf(validate(null))[0].msg,
    'null is not of type "object"',
  );
});

Deno.test("createInputValidator requires objects for Any and dict inputs", () => {
  const sig = one(ANY);
  accepts(sig, { a: [1, null] });
  strictEqual(messageFor(sig, [1]), '[1] is not of type "object"');
  strictEqual(messageFor(sig, "x"), '"x" is not of type "object"');
});

Deno.test("createInputValidator takes path, file and secret inputs as strings", () => {
  for (const type of [PATH, FILE, SECRET]) {
    accepts(one(type), "https://example.com/a.png");
    // a Secret's value is never echoed, not even in a validation message
    strictEqual(
      messageFor(one(type), 5),
      type === SECRET ? '"**********" is not of type "string"' : '5 is not of type "string"',
    );
  }
  accepts(one(list(PATH)), ["data:,x", "https://example.com/b"]);
});

const LOCAL_MESSAGE = (name: string, shown: string) =>
  `input "${name}": ${shown} is not a URL. 'data', 'http', or 'https' is supported; ` +
  `local paths are refused over HTTP.`;

Deno.test("a Path or File input that is not an http(s) or data URL is a 422 naming the input", () => {
  for (const type of [PATH, FILE, optional(PATH), optional(FILE)]) {
    for (
      const local of [
        "/etc/passwd",
        "/proc/self/environ",
        "relative.png",
        "",
        "C:\\x",
        "c:/x",
      ]
    ) {
      strictEqual(messageFor(one(type), local), LOCAL_MESSAGE("x", JSON.stringify(local)));
    }
    for (const url of ["http://h/a.png", "HTTPS://h/a", "data:,x", "DATA:image/png;base64,AA=="]) {
      accepts(one(type), url);
    }
  }
  for (
    const [url, scheme] of [["file:///etc/passwd", "file"], ["FTP://h/x", "ftp"], [
      "file:/etc/passwd",
      "file",
    ]]
  ) {
    strictEqual(
      messageFor(one(PATH), url),
      `input "x": '${scheme}' is not a valid URL scheme. 'data', 'http', or 'https' is supported.`,
    );
  }
  // A long value is cut in the message.
  const long = "/" + "a".repeat(500);
  strictEqual(
    messageFor(one(PATH), long),
    LOCAL_MESSAGE("x", `${JSON.stringify(long.slice(0, 80))}...`),
  );
});

Deno.test("list (and nested list) file inputs point at the offending element; unions and str are not files", () => {
  const errors = errorsOf(
    createInputValidator(signature([
      input("images", list(PATH)),
      input("maybe", optional(list(optional(FILE)))),
      input("grid", list(list(PATH))),
    ]))({
      images: ["https://h/a.png", "/etc/passwd"],
      maybe: ["/etc/shadow"],
      grid: [["data:,x"], ["https://h/b", "../x"]],
    }),
  );
  deepStrictEqual(errors.map((e) => [e.loc[2], e.msg]), [
    ["images/1", LOCAL_MESSAGE("images", '"/etc/passwd"')],
    ["maybe/0", LOCAL_MESSAGE("maybe", '"/etc/shadow"')],
    ["grid/1/1", LOCAL_MESSAGE("grid", '"../x"')],
  ]);
  // The worker passes these through as strings, so they are not file inputs.
  accepts(one(union(PATH, STR)), "/etc/passwd");
  accepts(one(STR), "/etc/passwd");
  accepts(one(list(STR)), ["/etc/passwd"]);
});

Deno.test("allowLocalFiles (COG_ALLOW_LOCAL_FILE_INPUTS) accepts local paths, fast path and zod alike", () => {
  for (const fast of [true, false]) {
    const validate = createInputValidator(
      signature([input("f", PATH), input("fs", list(FILE))]),
      { allowLocalFiles: true, fast },
    );
    deepStrictEqual(validate({ f: "/data/a.png", fs: ["/data/b"] }), {
      ok: true,
      value: { f: "/data/a.png", fs: ["/data/b"] },
      stripped: [],
    });
  }
});

Deno.test("createInputValidator injects null only for omitted bare optionals without a default", () => {
  const validate = createInputValidator(EXAMPLE_3);
  const result = validate({ images: [], prompt: "p", seed: 1, params: {} });
  deepStrictEqual(result, {
    ok: true,
    value: { images: [], prompt: "p", seed: 1, params: {}, note: null },
    stripped: [],
  });
  const given = validate({
    note: "n",
    images: [],
    prompt: "p",
    seed: 1,
    params: {},
  });
  deepStrictEqual(given.ok && given.value.note, "n");
});

Deno.test("createInputValidator lets a seed whose default is None be omitted, injects nothing and refuses an explicit null", () => {
  const validate = createInputValidator(EXAMPLE_3);
  deepStrictEqual(validate({ images: [], prompt: "p", params: {} }), {
    ok: true,
    value: { images: [], prompt: "p", params: {}, note: null },
    stripped: [],
  });
  deepStrictEqual(errorsOf(validate({ images: [], prompt: "p", params: {}, seed: null })), [
    { loc: ["body", "input", "seed"], msg: 'null is not of type "integer"', type: "value_error" },
  ]);
  deepStrictEqual(validate({ images: [], prompt: "p", params: {}, seed: 7 }).ok, true);
});

Deno.test("createInputValidator does not inject defaults: the model applies them", () => {
  const result = createInputValidator(EXAMPLE_2)({
    text: "t",
    image: "https://x/y.png",
  });
  deepStrictEqual(result, {
    ok: true,
    value: { text: "t", image: "https://x/y.png" },
    stripped: [],
  });
});

Deno.test("createInputValidator reports several invalid fields in parameter order", () => {
  const errors = errorsOf(
    createInputValidator(EXAMPLE_2)({
      mode: "turbo",
      text: 1,
      image: "https://x/i.png",
      count: 0,
    }),
  );
  deepStrictEqual(errors.map((error) => [error.loc[2], error.msg]), [
    ["text", '1 is not of type "string"'],
    ["count", "0 is less than the minimum of 1"],
    ["mode", '"turbo" is not one of ["fast","balanced","quality"]'],
  ]);
});

Deno.test("inputRules decides required, nullable, default and null injection per python-sdk.md 2.3", () => {
  const rules = Object.fromEntries(
    EXAMPLE_3.inputs.map((spec) => [spec.name, inputRules(spec)]),
  );
  deepStrictEqual(rules.note, {
    required: false,
    nullable: true,
    default: undefined,
    injectNull: true,
  });
  deepStrictEqual(rules.images, {
    required: true,
    nullable: false,
    default: undefined,
    injectNull: false,
  });
  deepStrictEqual(rules.api_key, {
    required: false,
    nullable: true,
    default: { value: null },
    injectNull: false,
  });
  // Cog 0.17+ makes it required; the pydantic-era rule (optional, no default key) is kept.
  deepStrictEqual(rules.seed, {
    required: false,
    nullable: false,
    default: undefined,
    injectNull: false,
  });
  deepStrictEqual(rules.tags, {
    required: false,
    nullable: true,
    default: { value: null },
    injectNull: false,
  });
  deepStrictEqual(
    inputRules(input("v", optional(union(STR, INT)))),
    { required: true, nullable: true, default: undefined, injectNull: false },
  );
});

Deno.test("fileInputs lists Path and File inputs, lists of them and Optional ones, but not str or unions", () => {
  const sig = signature([
    input("image", PATH),
    input("doc", FILE),
    input("images", list(PATH)),
    input("maybe", optional(PATH)),
    input("maybe_many", optional(list(FILE))),
    input("text", STR),
    input("either", union(STR, INT)),
    input("token", SECRET),
  ]);
  deepStrictEqual(fileInputs(sig), [
    { name: "image", list: false, kind: "path" },
    { name: "doc", list: false, kind: "file" },
    { name: "images", list: true, kind: "path" },
    { name: "maybe", list: false, kind: "path" },
    { name: "maybe_many", list: true, kind: "file" },
  ]);
});

Deno.test("secretInputs lists Secret and Optional Secret inputs only", () => {
  const sig = signature([
    input("token", SECRET),
    input("api_key", SECRET, { default: null }),
    input("maybe", optional(SECRET)),
    input("many", list(SECRET)),
    input("text", STR),
  ]);
  deepStrictEqual(secretInputs(sig), ["token", "api_key", "maybe"]);
});

// The validator checks simple signatures without zod; it must agree with zod on every input.
Deno.test("the fast input validator agrees with the zod-only one (property)", async () => {
  const fc = (await import("fast-check")).default;
  const simpleType = fc.constantFrom(STR, INT, FLOAT, BOOL, PATH, FILE, SECRET);
  const param = fc.record({
    type: fc.oneof(simpleType, simpleType.map(optional)),
    withDefault: fc.boolean(),
    defaultNull: fc.boolean(),
  });
  const value = fc.oneof(
    fc.string(),
    fc.constantFrom("https://h/a.png", "data:,x", "/etc/passwd", "HTTP://h", "data"),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
  );
  const names = ["a", "b", "c", "constructor"];
  let fastChecked = 0;
  fc.assert(
    fc.property(
      fc.array(param, { minLength: 1, maxLength: 4 }),
      fc.array(fc.tuple(fc.constantFrom(...names, "extra"), value), { maxLength: 6 }),
      (params, entries) => {
        const sig = signature(params.map((p, i) =>
          input(
            names[i],
            p.type,
            p.withDefault ? { default: p.defaultNull ? null : defaultFor(p.type) } : {},
          )
        ));
        const body = Object.fromEntries(entries);
        for (const allowLocalFiles of [false, true]) {
          const fast = createInputValidator(sig, { allowLocalFiles })(body);
          const slow = createInputValidator(sig, { fast: false, allowLocalFiles })(body);
          deepStrictEqual(fast, slow);
          if (fast.ok) fastChecked++;
        }
      },
    ),
    { numRuns: 3000 },
  );
  // The generator must reach the accepting path too, or the property says little.
  strictEqual(fastChecked > 100, true, `only ${fastChecked} accepted inputs`);
});

function defaultFor(type: typeof STR): number | boolean | string {
  const kind = type.kind === "optional" ? type.inner.kind : type.kind;
  return kind === "int" || kind === "float" ? 1 : kind === "bool" ? true : "x";
}
