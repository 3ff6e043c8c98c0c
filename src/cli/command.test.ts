import { describe, expect, it } from "vitest";
import { commandHelp, integerFlag, parseDurationMs, UsageError, type Command } from "./command.ts";

describe("parseDurationMs", () => {
  it.each([
    ["500ms", 500],
    ["15s", 15_000],
    ["2m", 120_000],
    ["1.5s", 1_500],
    ["0.25m", 15_000],
    ["0ms", 0],
    ["1.7ms", 2],
    ["1h", 3_600_000],
    ["87600h", 315_360_000_000],
  ])("parses %s as %i ms", (text, ms) => {
    expect(parseDurationMs("vm-boot-delay", text)).toBe(ms);
  });

  it.each(["", "15", "s", "15d", "-1s", "1,5s", ".5s", "5.s", " 5s", "5s ", "5 s", "5S", "1e3ms", "5sec"])("rejects %j", (text) => {
    const call = () => parseDurationMs("vm-phase-delay", text);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(`--vm-phase-delay: ${JSON.stringify(text)} is not a duration like 500ms, 15s, 2m or 8760h`);
  });

  it("throws an error named UsageError", () => {
    try {
      parseDurationMs("x", "nope");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe("UsageError");
    }
  });
});

describe("integerFlag", () => {
  it("accepts whole numbers from the minimum up", () => {
    expect(integerFlag("pods", "1000", 1)).toBe(1000);
    expect(integerFlag("background-pods", "0", 0)).toBe(0);
  });

  it.each(["0", "-1", "1.5", "1e3", "0x10", "", " 4", "99999999999999999999"])("rejects %j with a one-line reason", (text) => {
    expect(() => integerFlag("workers", text, 1)).toThrow(UsageError);
    expect(() => integerFlag("workers", text, 1)).toThrow(`--workers: ${JSON.stringify(text)} is not an integer >= 1`);
  });
});

describe("commandHelp", () => {
  const command: Command = {
    name: "dev",
    summary: "run a dev cluster",
    description: "Run a local development cluster.",
    options: {
      "kubeconfig-out": { type: "string", default: ".maroonedpods/kubeconfig", valueName: "PATH", description: "where to write the admin kubeconfig" },
      "vm-boot-delay": { type: "string", default: "15s", valueName: "DURATION", description: "simulated guest boot time" },
      token: { type: "string", description: "a token" },
      verbose: { type: "boolean", default: false, description: "log more" },
    },
    run: () => Promise.resolve(0),
  };

  it("renders usage, description and one aligned line per flag, ending with --help", () => {
    expect(commandHelp("maroonedpods", command).split("\n")).toEqual([
      "Usage: maroonedpods dev [flags]",
      "",
      "Run a local development cluster.",
      "",
      "Flags:",
      '  --kubeconfig-out PATH     where to write the admin kubeconfig (default ".maroonedpods/kubeconfig")',
      '  --vm-boot-delay DURATION  simulated guest boot time (default "15s")',
      "  --token VALUE             a token",
      "  --verbose                 log more",
      "  --help                    show this help",
    ]);
  });

  it("lists --help for a command without flags", () => {
    const help = commandHelp("mp", { ...command, options: {} });
    expect(help.split("\n").slice(-2)).toEqual(["Flags:", "  --help  show this help"]);
  });
});
