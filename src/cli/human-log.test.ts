import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatLogLine, humanLogStream } from "./human-log.ts";

const time = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const line = (record: Record<string, unknown>): string => JSON.stringify({ time, pid: 42, hostname: "box", ...record });

describe("formatLogLine", () => {
  it.each([
    [10, "TRACE"],
    [20, "DEBUG"],
    [30, "INFO "],
    [40, "WARN "],
    [50, "ERROR"],
    [60, "FATAL"],
  ])("names level %i %s", (level, name) => {
    expect(formatLogLine(line({ level, msg: "hello" }))).toBe(`03:04:05 ${name} hello`);
  });

  it.each([
    ["a string field bare", { vm: "marooned-1" }, "vm=marooned-1"],
    ["a number field", { attempt: 3 }, "attempt=3"],
    ["a boolean field", { ready: false }, "ready=false"],
    ["a null field", { reason: null }, "reason=null"],
    ["an object field as JSON", { err: { code: "ECONNREFUSED" } }, 'err={"code":"ECONNREFUSED"}'],
    ["an array field as JSON", { nodes: ["a", "b"] }, 'nodes=["a","b"]'],
    ["several fields in order", { a: "1", b: 2 }, "a=1 b=2"],
  ])("renders %s as key=value", (_name, fields, rendered) => {
    expect(formatLogLine(line({ level: 30, msg: "m", ...fields }))).toBe(`03:04:05 INFO  m ${rendered}`);
  });

  it.each([
    ["an unknown level number", line({ level: 35, msg: "m" }), "03:04:05 35    m"],
    ["a record without time or msg", JSON.stringify({ level: 40, x: 1 }), " WARN   x=1"],
    ["a non-string msg as JSON", line({ level: 30, msg: { a: 1 } }), '03:04:05 INFO  {"a":1}'],
  ])("renders %s", (_name, input, expected) => {
    expect(formatLogLine(input)).toBe(expected);
  });

  it.each(["plain text from a child process", "{not json", "", "42", "null", '"quoted"', "[1,2]", "true"])("passes %j through unchanged", (input) => {
    expect(formatLogLine(input)).toBe(input);
  });
});

describe("humanLogStream", () => {
  it("formats each non-empty line of a chunk", async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on("data", (chunk: Buffer) => chunks.push(chunk.toString("utf8")));
    const stream = humanLogStream(out);
    await new Promise<void>((resolve, reject) => {
      stream.write(`${line({ level: 30, msg: "one" })}\n\nnot json\n`, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    expect(chunks.join("")).toBe("03:04:05 INFO  one\nnot json\n");
  });
});
