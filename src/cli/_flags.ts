// The one flag table of `cog serve`, `cog run`/`cog predict`, `cog train` and
// `cog build`, its parser and the help text. The parser follows Cog's (cobra /
// pflag) rules: `--name value`, `--name=value`, `-n value`, `-nvalue`; on/off
// flags take the bare form or `=true`/`=false`; flags and arguments may be
// interleaved; `--` ends the flags; an unknown flag is `unknown flag: --bogus`.

import { CliError } from "./_errors.ts";

/** How a flag takes its value. `strings` is repeatable (Cog's stringArray). */
export type FlagKind = "string" | "strings" | "bool";

/** One flag: names, how it parses, and how help shows it. */
export interface FlagSpec {
  /** Long name without dashes. */
  name: string;
  short?: string;
  kind: FlagKind;
  /** Type word shown in help after the name (default: `string`/`stringArray`; none for bool). */
  typeName?: string;
  usage: string;
  /** The default as help shows it, e.g. `"cog.yaml"` (quoted) or `8393`. */
  defaultText?: string;
  /** Accepted but left out of help. */
  hidden?: boolean;
  /**
   * Bool only: a following `true`/`false` word is taken as the value too (`--flag true`), the
   * form Cog's in-image launcher accepts and images built earlier pass.
   */
  separateValue?: boolean;
}

function flag(spec: FlagSpec): FlagSpec {
  return spec;
}

/** Every flag any command has, by long name. Commands pick from here. */
export const FLAGS = {
  "await-explicit-shutdown": flag({
    name: "await-explicit-shutdown",
    kind: "bool",
    separateValue: true,
    usage: "Ignore SIGTERM; stop only on POST /shutdown or SIGINT",
  }),
  dockerfile: flag({
    name: "dockerfile",
    kind: "string",
    hidden: true,
    usage: "Accepted for compatibility with Cog and ignored",
  }),
  env: flag({
    name: "env",
    short: "e",
    kind: "strings",
    usage:
      "Environment variables, in the form name=value (over cog.yaml environment: and the shell's)",
  }),
  file: flag({
    name: "file",
    short: "f",
    kind: "string",
    usage: "The name of the config file.",
    defaultText: '"cog.yaml"',
  }),
  gpus: flag({
    name: "gpus",
    kind: "string",
    usage:
      "GPU devices to add to the container, in the same format as `docker run --gpus` (default: all when build.gpu is true)",
  }),
  help: flag({ name: "help", short: "h", kind: "bool", usage: "help for this command" }),
  host: flag({
    name: "host",
    kind: "string",
    usage: "Host interface to listen on (to publish the port on, with Docker)",
    defaultText: '"127.0.0.1"',
  }),
  input: flag({
    name: "input",
    short: "i",
    kind: "strings",
    usage:
      "Inputs, in the form name=value. if value is prefixed with @, then it is read from a file on disk. E.g. -i path=@image.jpg",
  }),
  json: flag({
    name: "json",
    kind: "string",
    usage: "Pass inputs as JSON object, read from file (@inputs.json) or via stdin (@-)",
  }),
  "no-cache": flag({
    name: "no-cache",
    kind: "bool",
    usage: "Do not use cache when building the image",
  }),
  "no-docker": flag({
    name: "no-docker",
    kind: "bool",
    usage: "Run on this machine's python3 instead of in Docker",
  }),
  "openapi-schema": flag({
    name: "openapi-schema",
    kind: "string",
    usage: "Load OpenAPI schema from a file (skips the schema check)",
  }),
  output: flag({ name: "output", short: "o", kind: "string", usage: "Output path" }),
  port: flag({
    name: "port",
    short: "p",
    kind: "string",
    typeName: "int",
    usage: "Port on which to listen",
    defaultText: "8393",
  }),
  progress: flag({
    name: "progress",
    kind: "string",
    usage: "Set type of build progress output, 'auto' (default), 'tty', 'plain', or 'quiet'",
    defaultText: '"auto"',
  }),
  secret: flag({
    name: "secret",
    kind: "strings",
    usage:
      "Secrets to pass to the build environment in the form 'id=foo,src=/path/to/file' (needs BuildKit)",
  }),
  "setup-timeout": flag({
    name: "setup-timeout",
    kind: "string",
    typeName: "uint32",
    usage: "The timeout for a container to setup (in seconds).",
    defaultText: "300",
  }),
  "skip-schema-validation": flag({
    name: "skip-schema-validation",
    kind: "bool",
    hidden: true,
    usage: "Build without checking the predictor's schema",
  }),
  tag: flag({
    name: "tag",
    short: "t",
    kind: "string",
    usage: "A name for the built image in the form 'repository:tag'",
  }),
  "upload-url": flag({
    name: "upload-url",
    kind: "string",
    usage: "Upload URL for file outputs (e.g. https://example.com/upload/)",
  }),
  "use-cog-base-image": flag({
    name: "use-cog-base-image",
    kind: "bool",
    usage: "Use pre-built Cog base image for faster cold boots",
    defaultText: "true",
  }),
  "use-cuda-base-image": flag({
    name: "use-cuda-base-image",
    kind: "string",
    usage:
      "Use Nvidia CUDA base image, 'true' (default) or 'false' (use python base image). False results in a smaller image but may cause problems for non-torch projects",
    defaultText: '"auto"',
  }),
  "use-replicate-token": flag({
    name: "use-replicate-token",
    kind: "bool",
    usage: "Pass REPLICATE_API_TOKEN from local environment into the model context",
  }),
  watch: flag({
    name: "watch",
    kind: "bool",
    usage: "Reload the predictor when a .py file or cog.yaml changes (with --no-docker)",
  }),
  "x-mode": flag({
    name: "x-mode",
    kind: "string",
    usage: `Which function every request runs: "predict" or "train"`,
    defaultText: '"predict"',
  }),
} as const satisfies Record<string, FlagSpec>;

/** A flag's long name. */
export type FlagName = keyof typeof FLAGS;

/** A command's use of a table flag, with the command's own wording where it differs. */
export type FlagUse = FlagName | { name: FlagName; usage?: string; defaultText?: string };

/** A command: what help shows and which flags and how many arguments it takes. */
export interface CommandSpec {
  /** `cog run [image] [flags]` */
  use: string;
  /** First help paragraph(s). */
  long: string;
  /** Example lines (already indented by two spaces in help). */
  examples?: string;
  flags: FlagUse[];
  maxArgs: number;
}

/** What a command line parsed to. */
export class ParsedFlags {
  readonly positionals: string[];
  readonly #values: Map<string, string | boolean | string[]>;

  constructor(values: Map<string, string | boolean | string[]>, positionals: string[]) {
    this.#values = values;
    this.positionals = positionals;
  }

  /** Whether the flag was given at all. */
  has(name: FlagName): boolean {
    return this.#values.has(name);
  }

  /** A string flag's value (undefined: not given). */
  string(name: FlagName): string | undefined {
    const v = this.#values.get(name);
    return typeof v === "string" ? v : undefined;
  }

  /** An on/off flag: true/false when given, undefined when not. */
  bool(name: FlagName): boolean | undefined {
    const v = this.#values.get(name);
    return typeof v === "boolean" ? v : undefined;
  }

  /** A repeatable flag's values, in order. */
  strings(name: FlagName): string[] {
    const v = this.#values.get(name);
    return Array.isArray(v) ? [...v] : [];
  }
}

function resolve(use: FlagUse): FlagSpec {
  if (typeof use === "string") return FLAGS[use];
  return { ...FLAGS[use.name], ...use };
}

function specsOf(command: CommandSpec): FlagSpec[] {
  const specs = command.flags.map(resolve);
  if (!specs.some((s) => s.name === "help")) specs.push(FLAGS.help);
  return specs;
}

const TRUE_WORDS = ["1", "t", "T", "true", "TRUE", "True", "yes"];
const FALSE_WORDS = ["0", "f", "F", "false", "FALSE", "False", "no"];

function isBoolWord(value: string): boolean {
  return TRUE_WORDS.includes(value) || FALSE_WORDS.includes(value);
}

function label(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

function parseBool(spec: FlagSpec, value: string): boolean {
  if (TRUE_WORDS.includes(value)) return true;
  if (FALSE_WORDS.includes(value)) return false;
  throw new Error(`invalid argument "${value}" for "${label(spec)}" flag: must be true or false`);
}

/**
 * Parses a command's arguments against its flags. Throws CliError (with the command's usage
 * attached) for an unknown flag, a missing value, a bad on/off value or too many arguments.
 *
 * @example
 * ```ts
 * const parsed = parseFlags(BUILD_COMMAND, ["-t", "me/model", "--no-cache"]);
 * parsed.string("tag"); // "me/model"
 * parsed.bool("no-cache"); // true
 * ```
 */
export function parseFlags(command: CommandSpec, args: readonly string[]): ParsedFlags {
  const specs = specsOf(command);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  const set = (spec: FlagSpec, value: string | boolean) => {
    if (spec.kind === "strings") {
      const list = (values.get(spec.name) as string[] | undefined) ?? [];
      list.push(String(value));
      values.set(spec.name, list);
    } else values.set(spec.name, value);
  };
  const fail = (message: string): never => {
    throw new CliError(message, 1, commandUsage(command));
  };
  try {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (arg === "--") {
        positionals.push(...args.slice(i + 1));
        break;
      }
      if (arg.startsWith("--") && arg.length > 2) {
        const eq = arg.indexOf("=");
        const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
        const spec = byName.get(name);
        if (!spec) fail(`unknown flag: --${name}`);
        if (spec!.kind === "bool") {
          if (eq !== -1) set(spec!, parseBool(spec!, arg.slice(eq + 1)));
          else if (spec!.separateValue && i + 1 < args.length && isBoolWord(args[i + 1])) {
            set(spec!, parseBool(spec!, args[++i]));
          } else set(spec!, true);
        } else if (eq !== -1) set(spec!, arg.slice(eq + 1));
        else if (i + 1 < args.length) set(spec!, args[++i]);
        else fail(`flag needs an argument: --${name}`);
        continue;
      }
      if (arg.startsWith("-") && arg.length > 1) {
        const shorts = arg.slice(1);
        for (let j = 0; j < shorts.length; j++) {
          const c = shorts[j];
          const spec = byShort.get(c);
          if (!spec) fail(`unknown shorthand flag: '${c}' in ${arg}`);
          const rest = shorts.slice(j + 1);
          if (spec!.kind === "bool") {
            if (rest.startsWith("=")) {
              set(spec!, parseBool(spec!, rest.slice(1)));
              break;
            }
            set(spec!, true);
            continue;
          }
          if (rest.length > 0) set(spec!, rest.startsWith("=") ? rest.slice(1) : rest);
          else if (i + 1 < args.length) set(spec!, args[++i]);
          else fail(`flag needs an argument: '${c}' in -${c}`);
          break;
        }
        continue;
      }
      positionals.push(arg);
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    fail((error as Error).message);
  }
  const parsed = new ParsedFlags(values, positionals);
  if (!parsed.bool("help") && positionals.length > command.maxArgs) {
    fail(`accepts at most ${command.maxArgs} arg(s), received ${positionals.length}`);
  }
  return parsed;
}

/** The Flags section: one aligned line per visible flag, sorted by name (as pflag prints them). */
function flagLines(command: CommandSpec): string {
  const specs = specsOf(command).filter((s) => !s.hidden).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  const left = specs.map((s) => {
    const type = s.kind === "bool"
      ? ""
      : ` ${s.typeName ?? (s.kind === "strings" ? "stringArray" : "string")}`;
    return `${s.short ? `  -${s.short}, ` : "      "}--${s.name}${type}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return specs.map((s, i) => {
    const usage = s.name === "help" ? `help for ${commandName(command)}` : s.usage;
    const dflt = s.defaultText !== undefined ? ` (default ${s.defaultText})` : "";
    return `${left[i].padEnd(width)}   ${usage}${dflt}`;
  }).join("\n");
}

function commandName(command: CommandSpec): string {
  return command.use.split(" ")[1] ?? "cog";
}

/** Usage, Examples and Flags sections (what Cog prints before a usage error). */
export function commandUsage(command: CommandSpec): string {
  const parts = [`Usage:\n  ${command.use}`];
  if (command.examples) parts.push(`Examples:\n${command.examples.replace(/\n+$/, "")}`);
  parts.push(`Flags:\n${flagLines(command)}`);
  return parts.join("\n\n") + "\n";
}

/** The whole `--help` text: description, then Usage, Examples and Flags. */
export function commandHelp(command: CommandSpec): string {
  return `${command.long.replace(/\n+$/, "")}\n\n${commandUsage(command)}`;
}
