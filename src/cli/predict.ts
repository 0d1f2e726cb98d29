// `cog predict` / `cog run`: one prediction from the command line. Inputs are
// checked against the model's schema before anything starts; the model then
// runs through the same server as `cog serve` (on python3 with --no-docker,
// or in the project's image / a given image with Docker); text outputs go to
// stdout, file outputs to files (cli-predict.md).

import { parseArgs } from "node:util";
import { loadConfig } from "../config/mod.ts";
import { buildOpenApiDocument } from "../schema/mod.ts";
import { createLogger } from "../server/log.ts";
import { decodeDataUrl } from "../server/files.ts";
import { COG_VERSION } from "../server/wire.ts";
import { describePredictor } from "../worker/mod.ts";
import { parseEnvEntries } from "./_env.ts";
import { CliError } from "./_errors.ts";
import {
  extensionForDataUrl,
  inputSchemaOf,
  inputsFromFlags,
  inputsFromJson,
  validateInputs,
} from "./_predict_inputs.ts";
import { startServer } from "./server.ts";

/** Help text of `cog predict` / `cog run`. */
export const PREDICT_HELP = `Run a prediction.

If 'image' is passed, it runs the prediction on that Docker image (it must
have been built by cog). Otherwise it runs the model in the current directory:
in the image built from cog.yaml, or with --no-docker on this machine's python3.

Usage:
  cog predict [image] [flags]      (also: cog run)

Flags:
  -i, --input stringArray     Inputs, in the form name=value. if value is prefixed with @, then it is read from a file on disk. E.g. -i path=@image.jpg
      --json string           Pass inputs as JSON object, read from file (@inputs.json) or via stdin (@-)
  -o, --output string         Output path
  -e, --env stringArray       Environment variables, in the form name=value
  -f, --file string           The name of the config file (default "cog.yaml")
      --setup-timeout uint32  The timeout for a container to setup (in seconds). (default 300)
      --no-docker             Run on this machine's python3 instead of Docker
      --gpus string           GPU devices to add to the container
  -h, --help                  Help for predict
`;

/** Parsed `cog predict` / `cog run` flags. */
export interface PredictFlags {
  image?: string;
  inputs: string[];
  json?: string;
  output?: string;
  env: string[];
  file: string;
  setupTimeout: number;
  noDocker: boolean;
  gpus?: string;
}

function parsePredictFlags(args: string[]): PredictFlags | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        input: { type: "string", short: "i", multiple: true },
        json: { type: "string" },
        output: { type: "string", short: "o" },
        env: { type: "string", short: "e", multiple: true },
        file: { type: "string", short: "f" },
        "setup-timeout": { type: "string" },
        "no-docker": { type: "boolean" },
        gpus: { type: "string" },
        progress: { type: "string" },
        "use-cog-base-image": { type: "string" },
        "use-cuda-base-image": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\nRun 'cog predict --help' for usage.`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (parsed.positionals.length > 1) {
    throw new CliError(`accepts at most 1 arg(s), received ${parsed.positionals.length}`);
  }
  const image = parsed.positionals[0];
  if (image?.includes("=")) {
    throw new CliError(`Invalid image name '${image}'. Did you forget \`-i\`?`);
  }
  if (v.json && (v.input?.length ?? 0) > 0) {
    throw new CliError("Must use one of --json or --input to provide model inputs");
  }
  const setupTimeout = v["setup-timeout"] === undefined ? 300 : Number(v["setup-timeout"]);
  if (!Number.isInteger(setupTimeout) || setupTimeout < 0) {
    throw new CliError(`invalid argument "${v["setup-timeout"]}" for "--setup-timeout" flag`);
  }
  return {
    image,
    inputs: v.input ?? [],
    json: v.json,
    output: v.output,
    env: v.env ?? [],
    file: v.file ?? "cog.yaml",
    setupTimeout,
    noDocker: v["no-docker"] ?? false,
    gpus: v.gpus,
  };
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

/** Runs `cog predict`; resolves with the exit code. */
export async function runPredict(
  args: string[],
  options: { deprecatedName?: boolean } = {},
): Promise<number> {
  const flags = parsePredictFlags(args);
  if (flags === "help") {
    console.log(PREDICT_HELP);
    return 0;
  }
  if (options.deprecatedName) console.error(`"cog predict" is deprecated, use "cog run"`);
  if (flags.image || !flags.noDocker) {
    const { predictWithDocker } = await import("./_predict_docker.ts");
    return await predictWithDocker(flags, { prepareInputs });
  }
  const { config, projectDir, warnings } = await loadConfig({ cwd: Deno.cwd(), file: flags.file });
  for (const warning of warnings) console.error(warning);
  if (!config.run) throw new CliError("no predict or train reference found in cog.yaml");
  const env = parseEnvEntries(flags.env);
  let doc: Record<string, unknown>;
  try {
    const described = await describePredictor({
      cwd: projectDir,
      ref: config.run,
      mode: "predict",
      env,
    });
    doc = buildOpenApiDocument(described.signature, {
      mode: "predict",
      streaming: described.predictor.streaming,
      version: COG_VERSION,
    });
  } catch (error) {
    throw new CliError(`Failed to load model schema: ${(error as Error).message}`);
  }
  const input = await prepareInputs(flags, doc);

  console.error("Starting the model and running setup()...");
  const log = createLogger();
  const server = await startServer({
    cwd: Deno.cwd(),
    configFile: flags.file,
    port: 0,
    host: "127.0.0.1",
    env,
    logger: log,
  });
  try {
    await waitUntilReady(server.url, flags.setupTimeout);
    return await requestAndHandle(server.url, input, doc, flags);
  } finally {
    await server.shutdown();
  }
}

/** Parses and validates the inputs against the schema (before anything starts). */
export async function prepareInputs(
  flags: { inputs: string[]; json?: string },
  doc: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const schema = inputSchemaOf(doc);
  const input = flags.json
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

/** POSTs the prediction and handles the result; returns the exit code. */
export async function requestAndHandle(
  url: string,
  input: Record<string, unknown>,
  doc: Record<string, unknown>,
  flags: { output?: string; json?: string },
): Promise<number> {
  console.error("Running prediction...\n");
  let response: Response;
  try {
    response = await fetch(`${url}/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input, context: {} }),
    });
  } catch (error) {
    throw new CliError(
      `Failed to run prediction: Failed to POST HTTP request to ${url}/predictions: ${error}`,
    );
  }
  const body = await response.json().catch(() => null);
  if (response.status === 422 && body?.detail) {
    const lines = (body.detail as { loc: unknown[]; msg: string }[]).map((d) =>
      `- ${d.loc[2]}: ${d.msg}`
    );
    throw new CliError(
      `Failed to run prediction: The inputs you passed could not be validated:\n\n${
        lines.join("\n")
      }\n\n` +
        `You can provide an input with -i. For example:\n\n    cog predict -i blur=3.5\n\n` +
        `If your input is a local file, you need to prefix the path with @ to tell Cog to read the file contents. For example:\n\n    cog predict -i path=@image.jpg`,
    );
  }
  if (response.status !== 200 || !body) {
    throw new CliError(
      `Failed to run prediction: /predictions call returned status ${response.status}`,
    );
  }
  return await handleResult(body, doc, flags);
}

function outputSchema(doc: Record<string, unknown>): Record<string, unknown> {
  const schemas = (doc.components as { schemas?: Record<string, Record<string, unknown>> })
    ?.schemas;
  return schemas?.Output ?? {};
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

/** Shows or writes the prediction result as Cog's CLI does; returns the exit code. */
export async function handleResult(
  body: {
    status: string;
    output: unknown;
    error: string | null;
    metrics?: Record<string, unknown>;
  },
  doc: Record<string, unknown>,
  flags: { output?: string; json?: string },
): Promise<number> {
  const jsonMode = flags.json !== undefined;
  const schema = outputSchema(doc);
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
