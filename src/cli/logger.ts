import { pino, type Logger } from "pino";
import { UsageError } from "./command.ts";
import { humanLogStream } from "./human-log.ts";

export const LOG_FORMATS = ["text", "json"] as const;
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

/** Logs go to stderr so stdout stays for results (e.g. the dev command's ready line). */
export function createCliLogger(format: string, level: string): Logger {
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--log-format: must be one of ${LOG_FORMATS.join(", ")}`);
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level: must be one of ${LOG_LEVELS.join(", ")}`);
  const options = { level, base: undefined };
  return format === "json" ? pino(options, process.stderr) : pino(options, humanLogStream(process.stderr));
}

export const LOGGING_OPTIONS = {
  "log-format": { type: "string", default: "text", valueName: "text|json", description: "log format on stderr" },
  "log-level": { type: "string", default: "info", valueName: "LEVEL", description: "trace, debug, info, warn or error" },
} as const;
