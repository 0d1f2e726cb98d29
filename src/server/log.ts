// Server logs on stderr: a readable console line by default, one JSON object
// per line with LOG_FORMAT=json. Level threshold from COG_LOG_LEVEL.

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A structured logger. */
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  format?: "console" | "json";
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
  /** Where LOG_FORMAT and COG_LOG_LEVEL are read from (default: the process environment). */
  env?: Record<string, string | undefined>;
}

/** A logger writing to stderr (or `write`). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const get = (name: string) => options.env ? options.env[name] : Deno.env.get(name);
  const format = options.format ?? (get("LOG_FORMAT") === "json" ? "json" : "console");
  const envLevel = (get("COG_LOG_LEVEL") ?? "").toLowerCase();
  const level: LogLevel = options.level ??
    (envLevel in ORDER ? envLevel as LogLevel : envLevel === "warning" ? "warn" : "info");
  const encoder = new TextEncoder();
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));
  const now = options.now ?? (() => new Date());
  return (lvl, message, fields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    if (format === "json") {
      write(JSON.stringify({ time: now().toISOString(), level: lvl, message, ...fields }) + "\n");
      return;
    }
    const tag = lvl === "info" ? "" : `${lvl.toUpperCase()} `;
    const id = typeof fields?.prediction_id === "string" ? `[${fields.prediction_id}] ` : "";
    for (const line of message.split("\n")) write(`${tag}${id}${line}\n`);
  };
}
