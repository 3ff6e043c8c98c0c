import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { declaresMoreThan, isJsonContentType, nestsDeeperThan, readBodyUpTo } from "./request-body.ts";

describe("isJsonContentType", () => {
  it.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", " application/json "])(
    "accepts %j",
    (header) => {
      expect(isJsonContentType(header)).toBe(true);
    },
  );

  it.each([undefined, "", "text/plain", "application/jsonp", "application/json-patch+json", "multipart/form-data"])("rejects %j", (header) => {
    expect(isJsonContentType(header)).toBe(false);
  });
});

describe("declaresMoreThan", () => {
  it("compares an announced Content-Length with the limit", () => {
    expect(declaresMoreThan("1025", 1024)).toBe(true);
    expect(declaresMoreThan("1024", 1024)).toBe(false);
    expect(declaresMoreThan(undefined, 1024)).toBe(false);
  });
});

/** A stream of `count` chunks of `size` bytes that records how many chunks were pulled from it. */
function countingStream(count: number, size: number): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const stream = new Readable({
    highWaterMark: size,
    read() {
      pulled++;
      this.push(pulled <= count ? Buffer.alloc(size, "x") : null);
    },
  });
  return { stream, pulled: () => pulled };
}

describe("readBodyUpTo", () => {
  it("returns the whole body when it fits, up to exactly the limit", async () => {
    const { stream } = countingStream(4, 256);
    const read = await readBodyUpTo(stream, 1024);
    expect(read.ok).toBe(true);
    if (read.ok) expect(read.body.toString("utf8")).toBe("x".repeat(1024));
  });

  it("stops pulling from the stream once the limit is passed, without destroying it", async () => {
    const { stream, pulled } = countingStream(1000, 256);
    expect(await readBodyUpTo(stream, 1024)).toEqual({ ok: false, reason: "too-large" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pulled()).toBeLessThan(10);
    expect(stream.isPaused()).toBe(true);
    expect(stream.destroyed).toBe(false);
  });

  it("rejects when the stream fails", async () => {
    const stream = new Readable({ read() {} });
    const read = readBodyUpTo(stream, 1024);
    stream.push("partial");
    stream.destroy(new Error("connection reset"));
    await expect(read).rejects.toThrow("connection reset");
  });

  it("rejects when the stream closes before its end", async () => {
    const stream = new Readable({ read() {} });
    const read = readBodyUpTo(stream, 1024);
    stream.push("partial");
    await new Promise((resolve) => setImmediate(resolve));
    stream.destroy();
    await expect(read).rejects.toThrow("stream closed after 7 bytes, before its end");
  });
});

describe("nestsDeeperThan", () => {
  const deep = (depth: number, open = "[", close = "]") => Buffer.from(`${open.repeat(depth)}1${close.repeat(depth)}`);

  it("counts arrays and objects alike, up to the limit and no further", () => {
    expect(nestsDeeperThan(deep(3), 3)).toBe(false);
    expect(nestsDeeperThan(deep(4), 3)).toBe(true);
    expect(nestsDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
    expect(nestsDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
    expect(nestsDeeperThan(Buffer.from("[[1],[2],[3],[[4]]]"), 3)).toBe(false);
  });

  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(nestsDeeperThan(Buffer.from(JSON.stringify({ a: "[[[[{{{{", b: 'say \\"[[[[" and "\\\\"', c: ["ü[[[["] })), 2)).toBe(false);
  });

  it("catches a truncated body that only opens", () => {
    expect(nestsDeeperThan(Buffer.from("[".repeat(101)), 100)).toBe(true);
  });

  it("scans 100,000 levels without recursing", () => {
    expect(nestsDeeperThan(deep(100_000, '{"a":', "}"), 100)).toBe(true);
  });
});
