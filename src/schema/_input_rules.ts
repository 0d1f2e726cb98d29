// The one place that decides, per predictor parameter, whether it is required,
// nullable, has an effective default, or gets an injected null (python-sdk.md
// §2.3). The OpenAPI builder and the input validator both read these rules so
// they can never disagree.

import type { InputSpec, Json, TypeDesc } from "./signature.ts";

/** How one parameter behaves in the schema and at validation time. */
export interface InputRules {
  /** Listed in `required`: omitting it is a 422 "Field required". */
  required: boolean;
  /** `nullable: true` in the schema (explicit null is still rejected). */
  nullable: boolean;
  /** The effective default, boxed so that a `null` default is distinguishable from none. */
  default: { value: Json } | undefined;
  /** When omitted, the server sets it to null before calling the model. */
  injectNull: boolean;
}

/** Decides required / nullable / default for one parameter (python-sdk.md §2.3). */
export function inputRules(spec: InputSpec): InputRules {
  const optional = spec.type.kind === "optional";
  // A bare `Secret = Input(default=None)` is nullable although its type is not Optional.
  const nullable = optional ||
    (spec.type.kind === "secret" && spec.default_given &&
      spec.default === null);
  // A None default on a non-nullable type (the legacy `seed: int = None` idiom) is not a
  // default value, but it makes the input optional, as in Cog's pydantic era: no `default`
  // key, not required, and the predictor gets None when it is omitted. (Cog 0.17+ marks it
  // required; ARCHITECTURE.md, "Cog quirks".) An explicit null is still refused.
  const hasDefault = spec.default_given && (spec.default !== null || nullable);
  const legacyNone = spec.default_given && spec.default === null && !nullable;
  let required: boolean;
  if (hasDefault || legacyNone) required = false;
  // `Optional[T]` without a default may be omitted, but `A | B | None` stays required.
  else if (spec.type.kind === "optional") {
    required = spec.type.inner.kind === "union";
  } else required = true;
  return {
    required,
    nullable,
    default: hasDefault ? { value: spec.default } : undefined,
    injectNull: nullable && !required && !hasDefault,
  };
}

/** The type with one `optional` layer removed. */
export function unwrapOptional(type: TypeDesc): TypeDesc {
  return type.kind === "optional" ? type.inner : type;
}

/** `api_key` -> `Api Key`: split on `_`, upper-case the first letter of each part. */
export function titleCase(name: string): string {
  return name.split("_").map((part) => part.slice(0, 1).toUpperCase() + part.slice(1)).join(
    " ",
  );
}
