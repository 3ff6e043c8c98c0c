import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { cpuSecondsFromStat, machineStealSeconds, peakRssMiBFromStatus, resetPeakRss, residentMiB, rssMiBFromStatus, stealSecondsFromProcStat } from "./proc.ts";

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

describe("resetPeakRss", () => {
  it("brings a process's peak down to what it holds now", async () => {
    // A child that once held 128 MiB and gave it back: its peak stays high until reset.
    const child = spawn(process.execPath, ["--expose-gc", "-e", "let b = Buffer.alloc(128 * 2 ** 20, 1); b = null; gc(); console.log('freed'); setInterval(() => {}, 1000);"]);
    try {
      await once(child.stdout, "data");
      const peak = async () => peakRssMiBFromStatus(await readFile(`/proc/${child.pid ?? 0}/status`, "utf8")) ?? Number.NaN;
      const before = await peak();
      expect(before).toBeGreaterThan(128);
      await resetPeakRss(child.pid ?? 0);
      expect(await peak()).toBeLessThan(before - 64);
    } finally {
      child.kill();
    }
  });
});

describe("stealSecondsFromProcStat", () => {
  it("reads the aggregate line's eighth field, in USER_HZ ticks", () => {
    const stat = "cpu  3479556 0 664370 2970009 128689 0 52103 122463 0 0\ncpu0 1 2 3 4 5 6 7 99 0 0\nintr 1 2\n";
    expect(stealSecondsFromProcStat(stat)).toBe(1224.63);
  });

  it("reads this machine's, which only grows", async () => {
    const first = await machineStealSeconds();
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await machineStealSeconds()).toBeGreaterThanOrEqual(first);
  });
});
