import { describe, expect, it } from "vitest";
import { formatCpuMillis, formatMemoryBytes, parseCpuMillis, parseMemoryBytes } from "./quantity.ts";

describe("parseCpuMillis", () => {
  it.each<[string | number, number]>([
    ["1", 1000],
    ["2", 2000],
    ["0", 0],
    ["500m", 500],
    ["1500m", 1500],
    ["1.5", 1500],
    ["0.1", 100],
    [".5", 500],
    ["5.", 5000],
    ["+250m", 250],
    ["-250m", -250],
    ["-0", 0],
    ["1e3", 1_000_000],
    ["1E3", 1_000_000],
    ["1e-3", 1],
    ["1e+0", 1000],
    ["2k", 2_000_000],
    ["100000000u", 100_000],
    // Fractional millicores round up, as Quantity.MilliValue() does.
    ["1n", 1],
    ["1u", 1],
    ["0.0001", 1],
    ["1500001u", 1501],
    ["1e-99999999999999999999", 1],
    ["-1n", -1],
    ["0e-99999999999999999999", 0],
    ["0.5m", 1],
    [0.5, 500],
    [2, 2000],
    [1e-7, 1],
  ])("%j is %i millicores", (q, millis) => {
    expect(parseCpuMillis(q)).toBe(millis);
  });
});

describe("parseMemoryBytes", () => {
  it.each<[string | number, number]>([
    ["0", 0],
    ["128", 128],
    ["1Ki", 1024],
    ["1Mi", 1024 ** 2],
    ["1536Mi", 1536 * 1024 ** 2],
    ["1Gi", 1024 ** 3],
    ["1Ti", 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["0.5Ki", 512],
    ["1k", 1000],
    ["1M", 1_000_000],
    ["1G", 1_000_000_000],
    ["1T", 1e12],
    ["1P", 1e15],
    ["1e9", 1e9],
    ["1E9", 1e9],
    ["129e6", 129_000_000],
    ["1.1Ki", 1127],
    ["1m", 1],
    ["1500m", 2],
    ["1000m", 1],
    ["123456789012345678901234567890e-20", 1_234_567_891],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    [1024, 1024],
    [1.5, 2],
  ])("%j is %i bytes", (q, bytes) => {
    expect(parseMemoryBytes(q)).toBe(bytes);
  });
});

describe("invalid quantities", () => {
  it.each([
    "",
    " 1Gi",
    "1Gi ",
    "1 Gi",
    "Gi",
    ".",
    "-",
    "1e",
    "1e+",
    "1.5e3.2",
    "1..5",
    "1gi",
    "1GB",
    "1Kib",
    "1KI",
    "1K",
    "0x10",
    "1,5",
    "one",
    "1Mi1",
    "1e3Mi",
    "١",
  ])("rejects %j naming the input", (q) => {
    expect(() => parseMemoryBytes(q)).toThrow(`invalid quantity ${JSON.stringify(q)}: expected a number with an optional suffix`);
    expect(() => parseCpuMillis(q)).toThrow("invalid quantity");
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("rejects the number %d", (q) => {
    expect(() => parseCpuMillis(q)).toThrow("not a finite number");
  });

  it.each<[string | number, string]>([
    ["1Ei", "bytes"],
    ["9007199254740992", "bytes"],
    ["8Pi", "bytes"],
    ["1e16", "bytes"],
    ["1e99999999999999999999", "bytes"],
    ["-1e99999", "bytes"],
    [1e21, "bytes"],
  ])("rejects %j as beyond the safe integer range", (q, unit) => {
    expect(() => parseMemoryBytes(q)).toThrow(`quantity ${JSON.stringify(String(q))} is out of range: beyond ${Number.MAX_SAFE_INTEGER} ${unit}`);
  });

  it("applies the range limit to CPU in millicores", () => {
    expect(parseCpuMillis("9007199254740")).toBe(9_007_199_254_740_000);
    expect(() => parseCpuMillis("9007199254741")).toThrow("beyond 9007199254740991 millicores");
  });
});

describe("formatCpuMillis", () => {
  it.each<[number, string]>([
    [0, "0"],
    [1, "1m"],
    [250, "250m"],
    [1000, "1"],
    [1500, "1500m"],
    [2000, "2"],
    [16_000, "16"],
    [-500, "-500m"],
  ])("%i is %s", (millis, text) => {
    expect(formatCpuMillis(millis)).toBe(text);
    expect(parseCpuMillis(text)).toBe(millis);
  });

  it.each([1.5, Number.NaN, 2 ** 53])("rejects %d", (millis) => {
    expect(() => formatCpuMillis(millis)).toThrow("CPU millicores must be a safe integer");
  });
});

describe("formatMemoryBytes", () => {
  it.each<[number, string]>([
    [0, "0"],
    [1, "1"],
    [1000, "1000"],
    [1024, "1Ki"],
    [1536, "1536"],
    [1536 * 1024, "1536Ki"],
    [1536 * 1024 ** 2, "1536Mi"],
    [2 * 1024 ** 3, "2Gi"],
    [1024 ** 4, "1Ti"],
    [7 * 1024 ** 5, "7Pi"],
    [1024 ** 3 + 1024, "1048577Ki"],
    [Number.MAX_SAFE_INTEGER, String(Number.MAX_SAFE_INTEGER)],
    [-2 * 1024 ** 2, "-2Mi"],
  ])("%i is %s", (bytes, text) => {
    expect(formatMemoryBytes(bytes)).toBe(text);
    expect(parseMemoryBytes(text)).toBe(bytes);
  });

  it.each([0.5, Number.POSITIVE_INFINITY, 2 ** 60])("rejects %d", (bytes) => {
    expect(() => formatMemoryBytes(bytes)).toThrow("memory bytes must be a safe integer");
  });
});
