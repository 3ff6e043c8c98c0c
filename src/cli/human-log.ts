import { Writable } from "node:stream";

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const OMITTED = new Set(["level", "time", "msg", "pid", "hostname"]);

/** Renders one pino JSON line as `HH:MM:SS LEVEL message key=value ...` for people at a terminal. */
export function formatLogLine(line: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return line;
  const record = parsed as Record<string, unknown>;
  const time = typeof record.time === "number" ? new Date(record.time).toISOString().slice(11, 19) : "";
  const level = LEVELS[record.level as number] ?? String(record.level);
  const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${text(value)}`);
  return [time, level.padEnd(5), record.msg === undefined ? "" : text(record.msg), ...fields].join(" ");
}

export function humanLogStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) out.write(`${formatLogLine(line)}\n`);
      callback();
    },
  });
}
