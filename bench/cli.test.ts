import { afterEach, describe, expect, it, vi } from "vitest";
import { integerFlag, UsageError } from "../src/cli/command.ts";
import { parseFlags, positiveDecimalFlag, runBenchmark, type Benchmark } from "./cli.ts";

describe("parseFlags", () => {
  const options = { requests: { type: "string", default: "10" }, help: { type: "boolean", default: false } } as const;
  it("answers the values, defaults filled in", () => {
    expect(parseFlags(["--requests", "5"], options)).toEqual({ requests: "5", help: false });
    expect(parseFlags([], options)).toEqual({ requests: "10", help: false });
  });
  it.each([[["--nope"]], [["--requests"]], [["extra"]]])("turns %j into a one-line UsageError", (argv) => {
    const call = () => parseFlags(argv, options);
    expect(call).toThrow(UsageError);
    try {
      call();
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});

describe("positiveDecimalFlag", () => {
  it("reads a plain positive number", () => {
    expect(positiveDecimalFlag("rate", "2")).toBe(2);
    expect(positiveDecimalFlag("rate", "0.25")).toBe(0.25);
  });
  it.each(["0", "-1", "1e3", "", "2/s", "0.0"])("refuses %j", (text) => {
    expect(() => positiveDecimalFlag("rate", text)).toThrow(UsageError);
  });
});

describe("runBenchmark", () => {
  afterEach(() => { vi.restoreAllMocks(); });
  const written = (stream: NodeJS.WriteStream) => {
    const spy = vi.spyOn(stream, "write").mockImplementation(() => true);
    return () => spy.mock.calls.map(([chunk]) => String(chunk)).join("");
  };
  const benchmark = (run: Benchmark<number>["run"]): Benchmark<number> => ({
    name: "bench:test",
    help: "usage: bench:test\n",
    parse: (argv) => (argv[0] === "--help" ? "help" : integerFlag("n", argv[0] ?? "1", 1)),
    run,
  });

  it("answers the run's exit code", async () => {
    expect(await runBenchmark(benchmark((n) => Promise.resolve(n === 3 ? 0 : 1)), ["3"])).toBe(0);
  });
  it("prints the help and exits 0 without running", async () => {
    const stdout = written(process.stdout);
    const run = vi.fn(() => Promise.resolve(0));
    expect(await runBenchmark(benchmark(run), ["--help"])).toBe(0);
    expect(stdout()).toBe("usage: bench:test\n");
    expect(run).not.toHaveBeenCalled();
  });
  it("exits 2 with one line on a bad flag", async () => {
    const stderr = written(process.stderr);
    expect(await runBenchmark(benchmark(() => Promise.resolve(0)), ["0"])).toBe(2);
    expect(stderr()).toBe('bench:test: --n: "0" is not an integer >= 1 (see --help)\n');
  });
  it("exits 1 with the message when the run throws", async () => {
    const stderr = written(process.stderr);
    expect(await runBenchmark(benchmark(() => Promise.reject(new Error("no cluster"))), ["1"])).toBe(1);
    expect(stderr()).toBe("bench:test: no cluster\n");
  });
});
