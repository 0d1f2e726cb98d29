// Request body shapes of the HTTP API (zod), and the body reading rules:
// no Content-Type means {"input":{}}, non-JSON 415, malformed 400, wrong shape
// 422, over the limit 413, not arrived in time 408, a webhook that is not an
// http(s) URL with a host 422 (Cog's detail envelope, naming the field).

import { z } from "zod";
import { WEBHOOK_EVENTS } from "../prediction.ts";

/** The create body (PredictionRequest / TrainingRequest). Unknown fields are ignored. */
export const CreateBodySchema = z.object({
  id: z.string().nullish(),
  input: z.record(z.string(), z.unknown()).nullish(),
  // "" means no webhook; anything else must be an http(s) URL with a host.
  webhook: z.string().max(65536).refine((url) => url === "" || webhookUrlProblem(url) === null, {
    error: (issue) => webhookUrlProblem(issue.input as string) ?? "invalid webhook URL",
  }).nullish(),
  webhook_events_filter: z.array(z.enum(WEBHOOK_EVENTS)).optional(),
  context: z.record(z.string(), z.string()).nullish(),
});

/** A parsed create body. */
export type CreateBody = z.infer<typeof CreateBodySchema>;

/** One entry of a 422 `detail` array. */
export interface DetailEntry {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** Why a body could not be read. */
export class BodyError extends Error {
  override name = "BodyError";
  readonly status: 400 | 408 | 413 | 415 | 422;
  /** Cog's 422 `detail` entries; without them the answer is the message as plain text. */
  readonly detail: DetailEntry[] | null;
  constructor(status: 400 | 408 | 413 | 415 | 422, message: string, detail?: DetailEntry[]) {
    super(message);
    this.status = status;
    this.detail = detail ?? null;
  }

  /** The HTTP answer: `{"detail": [...]}` JSON when there are entries, else plain text. */
  toResponse(): Response {
    if (this.detail) {
      return new Response(JSON.stringify({ detail: this.detail }), {
        status: this.status,
        headers: { "content-type": "application/json" },
      });
    }
    return new Response(this.message, {
      status: this.status,
      headers: { "content-type": "text/plain; charset=UTF-8" },
    });
  }
}

/** Default request body limit: 100 MiB. */
export const DEFAULT_BODY_LIMIT = 100 * 1024 * 1024;

/** Default time for a request body to arrive: 60 s (COG_HTTP_REQUEST_TIMEOUT). */
export const DEFAULT_BODY_TIMEOUT_MS = 60_000;

/** Options for {@linkcode readCreateBody}. */
export interface ReadBodyOptions {
  /** Largest body, bytes (413 above). */
  limit: number;
  /** The whole body must arrive within this many ms (408 after); no deadline when unset. */
  timeoutMs?: number;
}

/**
 * Checks a webhook URL: http or https with a host, nothing else (Deno's fetch
 * would happily try a `file:` URL). Returns the 422 message, or null when valid.
 */
export function webhookUrlProblem(webhook: string): string | null {
  let url: URL;
  try {
    url = new URL(webhook);
  } catch {
    return `${JSON.stringify(webhook.slice(0, 200))} is not a URL: webhook must be an ` +
      `http:// or https:// URL`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `'${url.protocol.slice(0, -1).slice(0, 50)}' is not an allowed webhook URL scheme: ` +
      `webhook must be an http:// or https:// URL`;
  }
  if (url.hostname === "") return "webhook URL has no host: it must be http(s)://<host>/...";
  return null;
}

/** Reads and validates a create body from a request (`limit`: a byte limit or the options). */
export async function readCreateBody(
  request: Request,
  limitOrOptions: number | ReadBodyOptions,
): Promise<CreateBody> {
  const { limit, timeoutMs } = typeof limitOrOptions === "number"
    ? { limit: limitOrOptions, timeoutMs: undefined }
    : limitOrOptions;
  return await readBody(request, limit, timeoutMs);
}

/** A bad webhook URL as Cog's 422 envelope, naming the field (before zod, which would say less). */
function checkWebhook(webhook: unknown): void {
  if (typeof webhook !== "string" || webhook === "" || webhook.length > 65536) return;
  const problem = webhookUrlProblem(webhook);
  if (problem !== null) {
    throw new BodyError(422, problem, [{
      loc: ["body", "webhook"],
      msg: problem,
      type: "value_error",
    }]);
  }
}

async function readBody(
  request: Request,
  limit: number,
  timeoutMs: number | undefined,
): Promise<CreateBody> {
  const type = request.headers.get("content-type");
  if (type === null) {
    await request.body?.cancel();
    return { input: {} };
  }
  const mediaType = type.split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json" && !mediaType.endsWith("+json")) {
    await request.body?.cancel();
    throw new BodyError(415, `Unsupported Content-Type "${mediaType}": send application/json`);
  }
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > limit) {
    await request.body?.cancel();
    throw new BodyError(413, `Request body is larger than the ${limit} byte limit`);
  }
  // A declared length (already checked against the limit) is read in one go; a chunked
  // body is read piece by piece so it can be refused as soon as it passes the limit.
  const text = Number.isFinite(declared)
    ? decodeUtf8(new Uint8Array(await readWhole(request, timeoutMs)))
    : await readLimited(request, limit, timeoutMs);
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw new BodyError(400, `Malformed JSON body: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new BodyError(422, "The request body must be a JSON object");
  }
  if (tooDeep(raw, MAX_JSON_DEPTH)) {
    // The worker's JSON decoder (Python) recurses: a deeper input would never reach predict().
    throw new BodyError(422, `The request body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  checkWebhook((raw as Record<string, unknown>).webhook);
  const fast = fastCreateBody(raw as Record<string, unknown>);
  if (fast !== undefined) return fast;
  const parsed = CreateBodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BodyError(
      422,
      `Invalid request body: ${issue.path.join(".") || "body"}: ${issue.message}`,
    );
  }
  return parsed.data;
}

const EVENT_NAMES: ReadonlySet<unknown> = new Set(WEBHOOK_EVENTS);

const isPlainRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) &&
  !Object.hasOwn(value, "__proto__");

/**
 * CreateBodySchema without zod for the bodies it accepts as they are (zod's parse was
 * a measurable share of the server's CPU per prediction). Returns undefined for
 * anything else, which then goes through zod (and gets zod's error message).
 */
function fastCreateBody(raw: Record<string, unknown>): CreateBody | undefined {
  const { id, input, webhook, webhook_events_filter: filter, context } = raw;
  const body: CreateBody = {};
  if (id !== undefined) {
    if (id !== null && typeof id !== "string") return undefined;
    body.id = id;
  }
  if (input !== undefined) {
    if (input !== null && !isPlainRecord(input)) return undefined;
    body.input = input;
  }
  if (webhook !== undefined) {
    if (webhook !== null && (typeof webhook !== "string" || webhook.length > 65536)) {
      return undefined;
    }
    body.webhook = webhook;
  }
  if (filter !== undefined) {
    if (!Array.isArray(filter) || !filter.every((name) => EVENT_NAMES.has(name))) return undefined;
    body.webhook_events_filter = filter;
  }
  if (context !== undefined) {
    if (context !== null) {
      if (!isPlainRecord(context)) return undefined;
      for (const key in context) if (typeof context[key] !== "string") return undefined;
    }
    body.context = context as Record<string, string> | null;
  }
  return body;
}

/** Deepest nesting of objects/arrays accepted in a request body. */
export const MAX_JSON_DEPTH = 200;

/** True when `value` nests objects/arrays more than `limit` levels (iterative: no stack overflow). */
export function tooDeep(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  // A small ASCII body (most create bodies) is decoded here: cheaper than a decoder call.
  if (bytes.length <= 1024) {
    let i = 0;
    while (i < bytes.length && bytes[i] < 0x80) i++;
    if (i === bytes.length) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BodyError(400, "The request body is not valid UTF-8");
  }
}

/** A body being read under a deadline (see watchBody). */
interface Watched {
  deadline: number;
  expired: boolean;
  /** Stops the read (the sweeper calls it once the deadline passed). */
  stop: () => void;
}

/**
 * Bodies still arriving under a deadline. One shared timer, running only while
 * some are, checks them: a timer per request cost ~50 µs of the hot path.
 */
const watched = new Set<Watched>();
let sweeper: ReturnType<typeof setInterval> | undefined;
const SWEEP_MS = 250;

function sweep(): void {
  const now = Date.now();
  for (const entry of watched) {
    if (now < entry.deadline) continue;
    entry.expired = true;
    watched.delete(entry);
    entry.stop();
  }
  if (watched.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Calls `stop` if the body is still being read `timeoutMs` from now (within SWEEP_MS). */
function watchBody(stop: () => void, timeoutMs: number): { entry: Watched; done(): void } {
  const entry: Watched = { deadline: Date.now() + timeoutMs, expired: false, stop };
  watched.add(entry);
  sweeper ??= setInterval(sweep, Math.min(SWEEP_MS, timeoutMs));
  return {
    entry,
    // The sweeper stops itself once nothing is watched: no timer churn per request.
    done() {
      watched.delete(entry);
    },
  };
}

function timedOut(timeoutMs: number): BodyError {
  return new BodyError(
    408,
    `The request body did not arrive within ${timeoutMs / 1000} s (COG_HTTP_REQUEST_TIMEOUT)`,
  );
}

/** The whole body (of a declared length), refused with 408 when it has not arrived in time. */
async function readWhole(request: Request, timeoutMs?: number): Promise<ArrayBuffer> {
  if (timeoutMs === undefined) return await request.arrayBuffer();
  let expire!: () => void;
  const expired = new Promise<never>((_, reject) => expire = () => reject(timedOut(timeoutMs)));
  const reading = request.arrayBuffer();
  reading.catch(() => {}); // abandoned when the deadline wins
  const watch = watchBody(expire, timeoutMs);
  try {
    return await Promise.race([reading, expired]);
  } finally {
    watch.done();
  }
}

/**
 * Reads a body, refusing it as soon as it passes the limit (413) or, with a
 * deadline, when it has not all arrived in time (408: a client that sends
 * half a body and stalls holds nothing of ours after that).
 */
async function readLimited(request: Request, limit: number, timeoutMs?: number): Promise<string> {
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  const watch = timeoutMs === undefined
    ? null
    : watchBody(() => reader.cancel().catch(() => {}), timeoutMs);
  try {
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (watch?.entry.expired) break;
        throw error;
      }
      const { value, done } = result;
      if (done) break;
      size += value.length;
      if (size > limit) {
        await reader.cancel();
        throw new BodyError(413, `Request body is larger than the ${limit} byte limit`);
      }
      chunks.push(value);
    }
  } finally {
    watch?.done();
  }
  if (watch?.entry.expired) throw timedOut(timeoutMs!);
  if (chunks.length === 1) return decodeUtf8(chunks[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return decodeUtf8(all);
}
