// readCreateBody checks the common bodies without zod; whatever it returns or
// refuses must be what CreateBodySchema (zod) returns or refuses.

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { BodyError, CreateBodySchema, readCreateBody } from "../../../src/server/http/schemas.ts";

function request(body: unknown): Request {
  return new Request("http://x/predictions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const leaf = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
// Each field: mostly a valid value (so bodies are often accepted), else anything.
const field = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { arbitrary: fc.oneof(valid, fc.constant(null)), weight: 6 },
    {
      arbitrary: fc.oneof(leaf, fc.array(leaf, { maxLength: 2 }), fc.dictionary(fc.string(), leaf)),
      weight: 1,
    },
  );

const bodies = fc.record({
  id: field(fc.string()),
  input: field(fc.oneof(fc.dictionary(fc.string(), leaf), fc.constant({ ["__proto__"]: 1 }))),
  webhook: field(fc.oneof(fc.webUrl(), fc.constant("x".repeat(65537)))),
  webhook_events_filter: field(
    fc.array(fc.constantFrom("start", "output", "logs", "completed", "completed", "nope"), {
      maxLength: 3,
    }),
  ),
  context: field(fc.dictionary(fc.string(), fc.string())),
  other: field(leaf),
}, { requiredKeys: [] });

Deno.test("readCreateBody agrees with CreateBodySchema on every body (property)", async () => {
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(bodies, async (body) => {
      const raw = JSON.parse(JSON.stringify(body)); // what the server parses
      const expected = CreateBodySchema.safeParse(raw);
      let got: unknown;
      try {
        got = await readCreateBody(request(body), 1 << 20);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        strictEqual(expected.success, false, `refused a body zod accepts: ${error.message}`);
        strictEqual(error.status, 422);
        return;
      }
      strictEqual(expected.success, true, `accepted a body zod refuses: ${JSON.stringify(raw)}`);
      deepStrictEqual(got, expected.data);
      accepted++;
    }),
    { numRuns: 2000 },
  );
  strictEqual(accepted > 100, true, `only ${accepted} accepted bodies`);
});
