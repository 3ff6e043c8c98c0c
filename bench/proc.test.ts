import { describe, expect, it } from "vitest";
import { cpuSecondsFromStat, peakRssMiBFromStatus, residentMiB, rssMiBFromStatus } from "./proc.ts";

describe("cpuSecondsFromStat", () => {
  it("adds utime and stime, even when the command name has spaces and parentheses", () => {
    const stat = "4242 (node (main) x) S 1 4242 4242 0 -1 4194560 9000 0 12 0 1234 566 0 0 20 0 11 0 777 1000000 20000 18446744073709551615";
    expect(cpuSecondsFromStat(stat)).toBeCloseTo(18);
  });
});

describe("peakRssMiBFromStatus", () => {
  it("reads VmHWM", () => {
    expect(peakRssMiBFromStatus("Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1 kB\n")).toBe(200);
  });
  it("is undefined without it", () => {
    expect(peakRssMiBFromStatus("Name:\tnode\n")).toBeUndefined();
  });
});

describe("rssMiBFromStatus", () => {
  it("reads VmRSS, not VmHWM", () => {
    expect(rssMiBFromStatus("Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t 102400 kB\n")).toBe(100);
    expect(rssMiBFromStatus("Name:\tnode\nVmHWM:\t  204800 kB\n")).toBeUndefined();
  });
  it("of this process is some MiB", async () => {
    expect(await residentMiB(process.pid)).toBeGreaterThan(10);
  });
});
