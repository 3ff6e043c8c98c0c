import { describe, expect, it } from "vitest";
import { lastLines, scanSerialChunk, type BootMilestone } from "./boot-timeline.ts";

const SERIAL = [
  "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP",
  "[  OK  ] Reached target multi-user.target - Multi-User System.",
  "[  101.2] cloud-init[412]: Cloud-init v. 22.4.2 finished at Tue, 01 Dec 2026 10:00:00 +0000. Datasource DataSourceNoCloud.  Up 100.12 seconds",
  "marooned-node-boot: running kubeadm join --config /etc/marooned/join.yaml",
  "marooned-node-boot: kubeadm join done",
  "",
].join("\n");

describe("scanSerialChunk", () => {
  it("finds every milestone of a node boot, in order", () => {
    expect(scanSerialChunk("", SERIAL, new Set()).found).toEqual(["kernelStarted", "systemdReady", "cloudInitFinished", "joinStarted", "joinDone"]);
  });

  it("keeps an unfinished line for the next chunk, and matches it once complete", () => {
    const first = scanSerialChunk("", "boot\n[ 0.0] Linux ver", new Set());
    expect(first).toEqual({ found: [], carry: "[ 0.0] Linux ver" });
    expect(scanSerialChunk(first.carry, "sion 6.1.0 (gcc)\n", new Set()).found).toEqual(["kernelStarted"]);
  });

  it("reports a milestone once: not again when seen before, nor twice in one chunk", () => {
    const seen = new Set<BootMilestone>(["kernelStarted"]);
    expect(scanSerialChunk("", "Linux version 6.1\nReached target Multi-User System\nReached target Multi-User System\n", seen).found).toEqual(["systemdReady"]);
  });

  it("does not take other targets or other versions for milestones", () => {
    expect(scanSerialChunk("", "Reached target Network.\nCloud-init v. 22.4.2 running 'init'\nLinux version:\n", new Set()).found).toEqual([]);
  });
});

describe("lastLines", () => {
  it("gives the last non-empty lines without carriage returns", () => {
    expect(lastLines("a\r\nb\r\n\r\nc\r\n\r\n", 2)).toEqual(["b", "c"]);
    expect(lastLines("", 3)).toEqual([]);
  });
});
