// One prediction or training against a running server, as `cog run`/`cog predict`
// and `cog train` do it: the flags both paths share, input preparation
// (validated before anything starts), waiting for READY, the request, and
// showing or writing the result (cli-predict.md 3.4, 6, 7, 8).

import { componentNames } from "../schema/mod.ts";
import { decodeDataUrl } from "../server/mod.ts";
import { CliError } from "./_errors.ts";
import {
  extensionForDataUrl,
  inputSchemaOf,
  inputsFromFlags,
  inputsFromJson,
  validateInputs,
} from "./_predict_inputs.ts";

/** Which function runs: `predict` (`cog run`) or `train` (`cog train`). */
export type RunMode = "predict" | "train";

/** What `cog run`/`cog predict` and `cog train` parsed, for either path. */
export interface RunModelFlags {
  mode: RunMode;
  /** A Cog image to run instead of the project in the current directory. */
  image?: string;
  inputs: string[];
  /** `--json` source (predict only). */
  json?: string;
  /** `-o`: undefined means "not given" (text results go to stdout). */
  output?: string;
  env: string[];
  file: string;
  /** Seconds to wait for READY. */
  setupTimeout: number;
  noDocker: boolean;
  gpus?: string;
  progress?: string;
  useCogBaseImage?: boolean;
  useCudaBaseImage?: string;
  useReplicateToken: boolean;
}

async function readJsonSource(source: string): Promise<string> {
  if (source === "-" || source === "@-") {
    try {
      return await new Response(Deno.stdin.readable).text();
    } catch (error) {
      throw new CliError(`Failed to read JSON from stdin: ${(error as Error).message}`);
    }
  }
  if (source.startsWith("@")) {
    try {
      return await Deno.readTextFile(source.slice(1));
    } catch (error) {
      throw new CliError(
        `Failed to read JSON from file "${source.slice(1)}": ${(error as Error).message}`,
      );
    }
  }
  return source;
}

/** Parses and validates the inputs against the (Training)Input schema, before anything starts. */
export async function prepareInputs(
  flags: Pick<RunModelFlags, "mode" | "inputs" | "json">,
  doc: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const schema = inputSchemaOf(doc, flags.mode === "train");
  const input = flags.json !== undefined
    ? await inputsFromJson(await readJsonSource(flags.json), schema)
    : await inputsFromFlags(flags.inputs, schema);
  validateInputs(input, schema);
  return input;
}

/** Polls /health-check until READY (Cog's rules and messages). */
export async function waitUntilReady(url: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (true) {
    if (Date.now() > deadline) throw new CliError("Timed out");
    try {
      const response = await fetch(`${url}/health-check`, { signal: AbortSignal.timeout(1000) });
      const body = await response.json();
      if (body.status === "READY") return;
      if (body.status === "SETUP_FAILED") throw new CliError("Model setup failed");
      if (body.status !== "STARTING") {
        throw new CliError(`Container healthcheck returned unexpected status: ${body.status}`);
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The request context: the host's Replicate token with --use-replicate-token. */
function requestContext(flags: Pick<RunModelFlags, "useReplicateToken">): Record<string, string> {
  if (!flags.useReplicateToken) return {};
  const token = Deno.env.get("REPLICATE_API_TOKEN");
  if (!token) {
    throw new CliError(
      "Failed to find REPLICATE_API_TOKEN in the current environment when called with --use-replicate-token",
    );
  }
  return { replicate_api_token: token };
}

/** POSTs the prediction (or training) and handles the result; returns the exit code. */
export async function requestAndHandle(
  url: string,
  input: Record<string, unknown>,
  doc: Record<string, unknown>,
  flags: Pick<RunModelFlags, "mode" | "output" | "json" | "useReplicateToken">,
): Promise<number> {
  const train = flags.mode === "train";
  console.error(train ? "Running training...\n" : "Running prediction...\n");
  const context = requestContext(flags);
  const path = train ? "/trainings" : "/predictions";
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input, context }),
    });
  } catch (error) {
    throw new CliError(
      `Failed to run prediction: Failed to POST HTTP request to ${url}${path}: ${error}`,
    );
  }
  const body = await response.json().catch(() => null);
  if (response.status === 422 && body?.detail) {
    const lines = (body.detail as { loc: unknown[]; msg: string }[]).map((d) =>
      `- ${d.loc[2]}: ${d.msg}`
    );
    // Cog names the command `predict` even under `cog run`.
    const command = train ? "train" : "predict";
    throw new CliError(
      `Failed to run prediction: The inputs you passed could not be validated:\n\n${
        lines.join("\n")
      }\n\n` +
        `You can provide an input with -i. For example:\n\n    cog ${command} -i blur=3.5\n\n` +
        `If your input is a local file, you need to prefix the path with @ to tell Cog to read the file contents. For example:\n\n    cog ${command} -i path=@image.jpg`,
    );
  }
  if (response.status !== 200 || !body) {
    throw new CliError(
      `Failed to run prediction: ${path} call returned status ${response.status}`,
    );
  }
  return await handleResult(body, doc, flags);
}

function outputSchema(doc: Record<string, unknown>, mode: RunMode): Record<string, unknown> {
  const schemas = (doc.components as { schemas?: Record<string, Record<string, unknown>> })
    ?.schemas;
  const name = componentNames(mode).output;
  return schemas?.[name] ?? schemas?.Output ?? {};
}

function isFileSchema(schema: Record<string, unknown>): boolean {
  return schema.type === "string" && schema.format === "uri";
}

function outputBase(path: string | undefined, jsonMode: boolean): string {
  const raw = (path ?? (jsonMode ? "output.json" : "output")).replace(/^@/, "");
  return raw.startsWith("~/") ? `${Deno.env.get("HOME")}${raw.slice(1)}` : raw;
}

function fileNameFor(base: string, index: number | null, dataUrl: string): string {
  const slash = base.lastIndexOf("/");
  const dot = base.lastIndexOf(".");
  const hasExt = dot > slash + 1 && !/^\d+$/.test(base.slice(dot + 1));
  const stem = hasExt ? base.slice(0, dot) : base;
  const ext = hasExt ? base.slice(dot) : "";
  const name = index === null ? stem : `${stem}.${index}`;
  return name + (ext || extensionForDataUrl(dataUrl));
}

async function writeDataUrl(path: string, url: string, index: number | null): Promise<void> {
  let bytes: Uint8Array;
  try {
    if (!url.startsWith("data:")) {
      const response = await fetch(url);
      bytes = new Uint8Array(await response.arrayBuffer());
    } else {
      bytes = decodeDataUrl(url).bytes;
    }
  } catch (error) {
    const which = index === null ? "" : ` ${index}`;
    throw new CliError(
      `Failed to write output${which}: Failed to decode data URL: ${(error as Error).message}`,
    );
  }
  await Deno.writeFile(path, bytes, { mode: 0o755 });
  console.error(`Written output to: ${path.replace(/^\.\//, "")}`);
}

/** Shows or writes the result as Cog's CLI does; returns the exit code. */
export async function handleResult(
  body: {
    status: string;
    output: unknown;
    error: string | null;
    metrics?: Record<string, unknown>;
  },
  doc: Record<string, unknown>,
  flags: Pick<RunModelFlags, "mode" | "output" | "json">,
): Promise<number> {
  const jsonMode = flags.json !== undefined;
  const schema = outputSchema(doc, flags.mode);
  let base = outputBase(flags.output, jsonMode);
  try {
    if ((await Deno.stat(base)).isDirectory) {
      if (flags.output === undefined) {
        throw new CliError(
          `Output path is not writable: Default output name "${base}" conflicts with directory, provide --output`,
        );
      }
      base = `${base}/${jsonMode ? "output.json" : "output"}`;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
  }
  const fileBase = jsonMode ? base.replace(/\.[^./]*$/, "") : base;
  let output = body.output;
  if (body.status === "succeeded" && output !== null && output !== undefined) {
    const items = schema.items as Record<string, unknown> | undefined;
    if (isFileSchema(schema) && typeof output === "string") {
      const path = fileNameFor(fileBase, null, output);
      await writeDataUrl(path, output, null);
      output = path;
    } else if (schema.type === "array" && items && isFileSchema(items) && Array.isArray(output)) {
      const written: string[] = [];
      for (const [i, item] of output.entries()) {
        const path = fileNameFor(fileBase, i, String(item));
        await writeDataUrl(path, String(item), i);
        written.push(path);
      }
      output = written;
    }
  }
  if (jsonMode) {
    const result: Record<string, unknown> = {
      status: body.status,
      output: output ?? null,
      error: body.error ?? "",
    };
    if (body.metrics && Object.keys(body.metrics).length > 0) result.metrics = body.metrics;
    const text = JSON.stringify(sortKeys(result), null, 2);
    if (flags.output !== undefined) {
      await Deno.writeTextFile(base, text);
      console.error(`Written output to: ${base}`);
    } else console.log(text);
    return body.status === "succeeded" ? 0 : 1;
  }
  if (body.status !== "succeeded") {
    throw new CliError(`Prediction failed with status "${body.status}": ${body.error ?? ""}`);
  }
  if (output === null || output === undefined) {
    console.error("No output generated");
    return 0;
  }
  const isFiles = isFileSchema(schema) ||
    (schema.type === "array" && isFileSchema((schema.items ?? {}) as Record<string, unknown>));
  if (isFiles) return 0;
  let text: string;
  if (schema.type === "string") {
    if (typeof output !== "string") {
      throw new CliError("Failed to convert prediction output to string");
    }
    text = output;
  } else {
    text = JSON.stringify(sortKeys(output), null, 2);
  }
  if (flags.output !== undefined) {
    await Deno.writeTextFile(base, text);
    console.error(`Written output to: ${base}`);
  } else {
    console.log(text);
  }
  return 0;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
