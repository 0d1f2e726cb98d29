// The worker protocol, version 1 (docs/worker-protocol.md): zod schemas for
// every message in both directions, and the line codec.

import { z } from "zod";
import { type Json, JsonSchema, PredictorInfoSchema, SignatureSchema } from "../schema/mod.ts";

/** The protocol version this server speaks. */
export const PROTOCOL_VERSION = 1;

const v = z.literal(PROTOCOL_VERSION);
const id = z.string().min(1);
const source = z.enum(["stdout", "stderr"]);

const FilesSchema = z.array(
  z.object({ pointer: z.string(), path: z.string().min(1), mime: z.string().nullable() }),
);

/** Messages the worker sends. */
export const WorkerMessageSchema = z.discriminatedUnion("type", [
  z.object({
    v,
    type: z.literal("hello"),
    protocol: z.number().int(),
    python: z.string(),
    sdk: z.string(),
    pid: z.number().int(),
  }),
  z.object({ v, type: z.literal("log"), id: id.nullable(), source, data: z.string() }),
  z.object({
    v,
    type: z.literal("ready"),
    predictor: PredictorInfoSchema,
    signature: SignatureSchema,
  }),
  z.object({ v, type: z.literal("setup_failed"), error: z.string(), traceback: z.string() }),
  z.object({ v, type: z.literal("started"), id }),
  z.object({
    v,
    type: z.literal("output"),
    id,
    index: z.number().int().nonnegative(),
    value: JsonSchema,
    files: FilesSchema,
  }),
  z.object({
    v,
    type: z.literal("metric"),
    id,
    name: z.string().min(1),
    value: JsonSchema,
    mode: z.enum(["replace", "increment", "append"]),
  }),
  // `output`: the single output of a non-stream prediction, carried by its done (index 0).
  z.object({
    v,
    type: z.literal("done"),
    id,
    is_stream: z.boolean(),
    output: z.object({ value: JsonSchema, files: FilesSchema }).optional(),
  }).refine((m) => !(m.is_stream && m.output !== undefined), {
    message: "absent when is_stream is true",
    path: ["output"],
  }),
  z.object({ v, type: z.literal("failed"), id, error: z.string() }),
  z.object({ v, type: z.literal("canceled"), id }),
  z.object({
    v,
    type: z.literal("healthcheck_result"),
    id,
    status: z.enum(["healthy", "unhealthy"]),
    error: z.string().optional(),
  }),
  z.object({ v, type: z.literal("fatal"), reason: z.string() }),
  // Answers to `reload`: the predictor swapped in place (setup() kept), or why not.
  z.object({
    v,
    type: z.literal("reloaded"),
    id,
    predictor: PredictorInfoSchema,
    signature: SignatureSchema,
    reason: z.string(),
  }),
  z.object({ v, type: z.literal("reload_refused"), id, reason: z.string() }),
]);

/** A message from the worker. */
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;

/** The worker's answer to `reload`. */
export type ReloadAnswer = Extract<WorkerMessage, { type: "reloaded" | "reload_refused" }>;

/** Messages the server sends. */
export const ServerMessageSchema = z.discriminatedUnion("type", [
  z.object({
    v,
    type: z.literal("predict"),
    id,
    input: z.record(z.string(), JsonSchema),
    context: z.record(z.string(), z.string()),
    output_dir: z.string().min(1),
  }),
  z.object({ v, type: z.literal("cancel"), id }),
  z.object({ v, type: z.literal("healthcheck"), id }),
  z.object({ v, type: z.literal("shutdown") }),
  // --watch: swap the predictor's code in place if setup() is unaffected.
  z.object({ v, type: z.literal("reload"), id }),
]);

/** A message to the worker. */
export type ServerMessage = z.infer<typeof ServerMessageSchema>;

/** A message to the worker, without the version field (added on encode). */
export type ServerMessageBody = ServerMessage extends infer M
  ? M extends { v: number } ? Omit<M, "v"> : never
  : never;

/** A line that is not a valid message of this protocol version. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

function describe(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) =>
    `${i.path.length ? i.path.join(".") + ": " : ""}${i.message}`
  ).join("; ");
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new ProtocolError(`not JSON: ${line.slice(0, 120)}`);
  }
}

// Hand-written validation of the frequent messages (zod's safeParse cost ~7 % of the
// server's CPU). It accepts exactly what WorkerMessageSchema accepts and returns the same
// object (known keys only, in schema order); anything it is not sure about (an invalid
// message, a JSON value nested deeper than FAST_DEPTH or holding a "__proto__" key)
// returns undefined and goes through zod, which also produces the error message.

const FAST_DEPTH = 64;
const METRIC_MODES: ReadonlySet<unknown> = new Set(["replace", "increment", "append"]);
type Raw = Record<string, unknown>;

const isId = (value: unknown): value is string => typeof value === "string" && value.length > 0;

/** True for a JSON value zod's JsonSchema passes through unchanged (any JSON.parse result). */
function plainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return value !== undefined;
  if (depth > FAST_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!plainJson(item, depth + 1)) return false;
    return true;
  }
  if (Object.hasOwn(value, "__proto__")) return false;
  for (const key in value) {
    if (!plainJson((value as Raw)[key], depth + 1)) return false;
  }
  return true;
}

function fastFiles(files: unknown): WorkerOutputFile[] | undefined {
  if (!Array.isArray(files)) return undefined;
  const out: WorkerOutputFile[] = new Array(files.length);
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as Raw;
    if (file === null || typeof file !== "object" || Array.isArray(file)) return undefined;
    const { pointer, path, mime } = file;
    if (typeof pointer !== "string" || typeof path !== "string" || path.length === 0) {
      return undefined;
    }
    if (mime !== null && typeof mime !== "string") return undefined;
    out[i] = { pointer, path, mime };
  }
  return out;
}

type WorkerOutputFile = { pointer: string; path: string; mime: string | null };

function fastDecode(raw: Raw): WorkerMessage | undefined {
  const { v, type, id } = raw;
  if (v !== PROTOCOL_VERSION) return undefined;
  switch (type) {
    case "log": {
      const { source, data } = raw;
      if (id !== null && !isId(id)) return undefined;
      if (source !== "stdout" && source !== "stderr") return undefined;
      if (typeof data !== "string") return undefined;
      return { v, type, id, source, data };
    }
    case "started":
    case "canceled":
      return isId(id) ? { v, type, id } : undefined;
    case "done": {
      const { is_stream } = raw;
      if (!isId(id) || typeof is_stream !== "boolean") return undefined;
      if (!("output" in raw)) return { v, type, id, is_stream };
      const output = raw.output as Raw;
      if (is_stream || output === null || typeof output !== "object" || Array.isArray(output)) {
        return undefined;
      }
      if (!("value" in output) || !plainJson(output.value, 0)) return undefined;
      const files = fastFiles(output.files);
      if (files === undefined) return undefined;
      return { v, type, id, is_stream, output: { value: output.value as Json, files } };
    }
    case "failed": {
      const { error } = raw;
      if (!isId(id) || typeof error !== "string") return undefined;
      return { v, type, id, error };
    }
    case "output": {
      const { index, value } = raw;
      if (!isId(id) || !Number.isSafeInteger(index) || (index as number) < 0) return undefined;
      if (!plainJson(value, 0)) return undefined;
      const files = fastFiles(raw.files);
      if (files === undefined) return undefined;
      return { v, type, id, index: index as number, value: value as Json, files };
    }
    case "metric": {
      const { name, value, mode } = raw;
      if (!isId(id) || typeof name !== "string" || name.length === 0) return undefined;
      if (!plainJson(value, 0) || !METRIC_MODES.has(mode)) return undefined;
      return {
        v,
        type,
        id,
        name,
        value: value as Json,
        mode: mode as "replace" | "increment" | "append",
      };
    }
  }
  return undefined;
}

/** Decodes and validates one line from the worker. */
export function decodeWorkerMessage(line: string): WorkerMessage {
  const raw = parseLine(line);
  if (raw && typeof raw === "object" && "v" in raw && raw.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `protocol version ${
        JSON.stringify(raw.v)
      } is not supported (this server speaks ${PROTOCOL_VERSION})`,
    );
  }
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    const fast = fastDecode(raw as Raw);
    if (fast !== undefined) return fast;
  }
  let parsed: ReturnType<typeof WorkerMessageSchema.safeParse>;
  try {
    parsed = WorkerMessageSchema.safeParse(raw);
  } catch (error) {
    // A value nested deeper than the validator's stack (RangeError) is a bad line, not a crash.
    throw new ProtocolError(
      `invalid worker message: ${error instanceof Error ? error.message : error}`,
    );
  }
  if (!parsed.success) throw new ProtocolError(`invalid worker message: ${describe(parsed.error)}`);
  return parsed.data;
}

/** Decodes and validates one line sent to the worker (used by tests and fuzzing). */
export function decodeServerMessage(line: string): ServerMessage {
  const parsed = ServerMessageSchema.safeParse(parseLine(line));
  if (!parsed.success) throw new ProtocolError(`invalid server message: ${describe(parsed.error)}`);
  return parsed.data;
}

/** Encodes a message to the worker as one line (with "\n"). */
export function encodeServerMessage(message: ServerMessageBody): string {
  // `{"v":1,` + the message's own fields: no spread copy of the (maybe large) input.
  const body = JSON.stringify(message);
  return body === "{}" ? VERSION_ONLY : VERSION_PREFIX + body.slice(1) + "\n";
}

const VERSION_PREFIX = `{"v":${PROTOCOL_VERSION},`;
const VERSION_ONLY = `{"v":${PROTOCOL_VERSION}}\n`;

/**
 * A worker message as a WorkerHandle delivers it: a `done` that carries the
 * prediction's single output arrives as an `output` (index 0), then a `done`
 * without it, so nothing past the handle sees the combined form.
 */
export type DeliveredMessage =
  | Exclude<WorkerMessage, { type: "done" }>
  | Omit<Extract<WorkerMessage, { type: "done" }>, "output">;

/** Splits a `done` that carries an output into output + done; other messages pass as they are. */
export function splitDone(
  message: WorkerMessage,
): [
  Extract<WorkerMessage, { type: "output" }>,
  Omit<Extract<WorkerMessage, { type: "done" }>, "output">,
] | null {
  if (message.type !== "done" || message.output === undefined) return null;
  const { output, ...done } = message;
  return [
    {
      v: message.v,
      type: "output",
      id: message.id,
      index: 0,
      value: output.value,
      files: output.files,
    },
    done,
  ];
}

/** A worker message about one prediction (a `log` with an id, output, terminal...). */
export type PredictionMessage =
  | (Omit<Extract<WorkerMessage, { type: "log" }>, "id"> & { id: string })
  | Extract<
    DeliveredMessage,
    { type: "started" | "output" | "metric" | "done" | "failed" | "canceled" }
  >;
